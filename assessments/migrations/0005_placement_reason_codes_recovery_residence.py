"""IOP-RS-1 (DOMAIN.md §3.1) audit: the reason code is spelled GEOGRAPHY/TRANSPORT, as published;
"2.1 services plus a recovery residence" (rule 7) is recorded with its housing plan.

Drafts saved with the earlier spelling GEOGRAPHY_TRANSPORT take the published one. Signed
placements are immutable (model guard and PostgreSQL trigger) and keep what they were signed with.
"""

from django.conf import settings
from django.db import migrations, models


def respell_draft_reasons(apps, schema_editor):
    Placement = apps.get_model("assessments", "Placement")
    Placement.objects.filter(status="draft", override_reason="GEOGRAPHY_TRANSPORT").update(
        override_reason="GEOGRAPHY/TRANSPORT"
    )


def unspell_draft_reasons(apps, schema_editor):
    Placement = apps.get_model("assessments", "Placement")
    Placement.objects.filter(status="draft", override_reason="GEOGRAPHY/TRANSPORT").update(
        override_reason="GEOGRAPHY_TRANSPORT"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('assessments', '0004_response_ruler_type'),
        ('patients', '0005_disclosure_without_consent'),
        ('users', '0003_convert_plain_api_tokens'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='placement',
            name='housing_plan',
            field=models.TextField(blank=True, help_text='The recovery residence and housing plan (rule 7).'),
        ),
        migrations.AddField(
            model_name='placement',
            name='recovery_residence',
            field=models.BooleanField(default=False, help_text='Only where D6 = 3 is the only reason for a level above 2.1; reason Clinical judgment.', verbose_name='2.1 services plus a recovery residence'),
        ),
        migrations.AlterField(
            model_name='placement',
            name='override_reason',
            field=models.CharField(blank=True, choices=[('LEVEL_NOT_AVAILABLE', 'Level not available'), ('PATIENT_PREFERENCE', 'Patient preference'), ('PAYER_DECISION', 'Payer decision'), ('CLINICAL_JUDGMENT', 'Clinical judgment'), ('WAITLIST', 'Waitlist'), ('GEOGRAPHY/TRANSPORT', 'Geography/transport'), ('LEGAL_MANDATE', 'Legal mandate'), ('OTHER', 'Other')], max_length=30),
        ),
        migrations.AddConstraint(
            model_name='placement',
            constraint=models.CheckConstraint(condition=models.Q(('status', 'draft'), ('recovery_residence', False), models.Q(('actual_level', '2.1'), ('override_reason', 'CLINICAL_JUDGMENT'), models.Q(('housing_plan', ''), _negated=True)), _connector='OR'), name='placement_recovery_residence_explained'),
        ),
        migrations.RunPython(respell_draft_reasons, unspell_draft_reasons),
    ]
