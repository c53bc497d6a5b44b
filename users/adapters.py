from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Staff accounts come from invitations only: there is no public sign-up."""

    def is_open_for_signup(self, request) -> bool:
        return False
