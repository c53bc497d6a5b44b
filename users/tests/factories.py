import factory
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from users.models import Membership, Role, Site, User

PASSWORD = "correct-horse-battery-staple"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Site {n}")
    time_zone = "America/New_York"
    sender_name = factory.Sequence(lambda n: f"Health Center {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def mfa(obj, create, extracted, **kwargs):
        """``UserFactory(mfa=True)`` enrols a TOTP authenticator; the secret is ``obj.totp_secret``."""
        obj.save()
        if create and extracted:
            obj.totp_secret = generate_totp_secret()
            TOTP.activate(obj, obj.totp_secret)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)
    role = Role.CLINICIAN
