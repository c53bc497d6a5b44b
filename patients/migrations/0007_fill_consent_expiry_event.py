"""The consent's expiry event becomes a choice: end of treatment, none (TPO only) or another
event described in ``expiry_event_detail``. Every existing free-text answer is kept: the ones that
say "end of treatment" or "none" become those choices, anything else becomes "other" with the
text moved to the description, word for word.

A non-TPO consent whose event said "none" becomes the choice "none" too: it never met §2.31(a)(7)
(only a TPO consent may have no expiry), so it stays on file but no disclosure is made on it.
"""

from django.db import migrations

# Copied from patients.models (migrations never import app code).
END_OF_TREATMENT_WORDS = {
    "end of treatment",
    "the end of treatment",
    "at the end of treatment",
    "at end of treatment",
    "end of treatment (discharge)",
    "until the end of treatment",
    "until end of treatment",
    "discharge",
    "at discharge",
    "upon discharge",
    "on discharge",
    "until discharge",
    "end_of_treatment",
}
NO_EXPIRY_WORDS = {"none", "no expiry", "no expiration", "never", "does not expire"}
CHOICES = {"end_of_treatment", "none", "other"}


def forward(apps, schema_editor):
    Consent = apps.get_model("patients", "Consent")
    for consent in Consent.objects.exclude(expiry_event="").only("pk", "expiry_event", "expiry_event_detail"):
        text = " ".join(consent.expiry_event.split())
        if text in CHOICES:
            continue
        key = text.casefold().rstrip(".")
        if key in END_OF_TREATMENT_WORDS:
            event, detail = "end_of_treatment", ""
        elif key in NO_EXPIRY_WORDS:
            event, detail = "none", ""
        else:
            event, detail = "other", text[:200]
        Consent.objects.filter(pk=consent.pk).update(expiry_event=event, expiry_event_detail=detail)


def backward(apps, schema_editor):
    Consent = apps.get_model("patients", "Consent")
    Consent.objects.filter(expiry_event="end_of_treatment").update(expiry_event="End of treatment")
    for consent in Consent.objects.filter(expiry_event="other").only("pk", "expiry_event_detail"):
        Consent.objects.filter(pk=consent.pk).update(expiry_event=consent.expiry_event_detail or "Other")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0006_consent_expiry_detail_fundraising_confidential_contact"),
    ]

    operations = [
        migrations.RunPython(forward, backward),
    ]
