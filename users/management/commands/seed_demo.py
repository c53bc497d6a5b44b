"""Build a believable demo clinic: idempotent, fake people only, refused in production."""

from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from users.demo import DEMO_PASSWORD, ROLE_OF_LOGIN


class Command(BaseCommand):
    help = "Create demo sites, staff and fake patients (only with DJANGO_DEBUG on). Safe to run again."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DJANGO_DEBUG=true: demo accounts never belong in production.")
        context: dict = {}
        with transaction.atomic():
            # Each app contributes its own demo data through <app>/demo.py, lowest floor first,
            # so this command needs no import of the apps above users.
            for config in apps.get_app_configs():
                if not config.path.startswith(str(settings.BASE_DIR)):
                    continue
                try:
                    module = import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.demo":
                        raise
                    continue
                context.update(module.seed(self.stdout, context) or {})
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Sign in with any of these (password: {DEMO_PASSWORD}):")
        )
        for email, role in ROLE_OF_LOGIN.items():
            self.stdout.write(f"  {email:<24} {role}")
        self.stdout.write("Each account sets up two-factor authentication at its first sign-in.")
