from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Staff, sites and roles"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_used

        from .middleware import forget_mfa, remember_mfa

        authenticator_used.connect(remember_mfa, dispatch_uid="users_remember_mfa_used")
        authenticator_added.connect(remember_mfa, dispatch_uid="users_remember_mfa_added")
        authenticator_removed.connect(forget_mfa, dispatch_uid="users_forget_mfa")
