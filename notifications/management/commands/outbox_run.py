"""Run the periodic tasks in this process: the embedded default has no beat.

manage.py outbox_run            # every periodic task once
manage.py outbox_run --loop 15  # check every 15 seconds and run each task when its interval is due

The tasks are those of ``CELERY_BEAT_SCHEDULE`` (reminder planning, due-work alerts, the digest,
the outbox sweep, …), each at its own interval as beat would run them, called in this process.
"""

from __future__ import annotations

import time
from datetime import datetime

from celery import current_app
from celery.schedules import maybe_schedule
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = "Run the periodic tasks (reminder planning, due-work alerts, digests, the outbox sweep) in this process."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=int, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, loop: int = 0, **options):
        current_app.loader.import_default_modules()  # every app's tasks module
        last_run: dict[str, datetime] = {}
        while True:
            for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
                schedule = maybe_schedule(entry["schedule"])
                if name in last_run and not schedule.is_due(last_run[name]).is_due:
                    continue
                last_run[name] = timezone.now()
                task = current_app.tasks[entry["task"]]
                result = task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}))
                self.stdout.write(f"{name}: {result.result}")
            if not loop:
                return
            time.sleep(loop)
