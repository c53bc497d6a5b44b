"""Plan reminders and send due messages in this process: the embedded default has no beat.

manage.py outbox_run            # once
manage.py outbox_run --loop 15  # every 15 seconds until Ctrl-C
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from notifications import outbox, reminders, staff


class Command(BaseCommand):
    help = "Plan reminders, raise due-work alerts, queue digests and send due outbox messages."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=int, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, loop: int = 0, **options):
        while True:
            planned = reminders.reminders_plan()
            staff.digest_plan()
            sent = outbox.outbox_dispatch_due()
            self.stdout.write(f"reminders {planned}; outbox {sent}")
            if not loop:
                return
            time.sleep(loop)
