from django.apps import AppConfig


class ClinicalSessionsConfig(AppConfig):
    # The default label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "clinical_sessions"
    verbose_name = "Session delivery"
