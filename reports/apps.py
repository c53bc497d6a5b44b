from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # The due-work alert titles and the daily digest's counts (every web and worker process).
        from . import due_work  # noqa: F401
