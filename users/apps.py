from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Staff, sites and roles"

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_removed

        from .middleware import forget_mfa

        authenticator_removed.connect(forget_mfa, dispatch_uid="users_forget_mfa")
