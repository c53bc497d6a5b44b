"""DOMAIN.md §8-§9 audit, step 3 of 3: the database refuses what ``Medication.clean`` and
``Specimen.clean`` refuse (0007 made every existing row satisfy these)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assessments', '0007_fill_medication_rules'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('medication_class', 'other'), models.Q(('agent', 'naloxone'), _negated=True)), models.Q(('agent__in', ['buprenorphine', 'methadone', 'naltrexone']), ('medication_class', 'moud')), models.Q(('agent__in', ['acamprosate', 'disulfiram', 'naltrexone']), ('medication_class', 'maud')), models.Q(('agent', 'naloxone'), ('medication_class', 'naloxone')), _connector='OR'), name='medication_agent_in_class', violation_error_message='The agent does not belong to the class: MOUD is buprenorphine, methadone (via an opioid treatment program) or extended-release naltrexone; MAUD is acamprosate, naltrexone or disulfiram; naloxone is recorded with the agent Naloxone.'),
        ),
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('agent', 'naltrexone'), ('medication_class', 'moud'), _negated=True), ('formulation', 'extended_release'), _connector='OR'), name='medication_moud_naltrexone_extended_release', violation_error_message='Naltrexone for opioid use disorder is extended-release naltrexone: choose the formulation “Extended-release injection or implant” (oral naltrexone is recorded as MAUD or Other).'),
        ),
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('agent', 'methadone'), ('medication_class', 'moud'), _negated=True), models.Q(models.Q(('otp_name', ''), _negated=True), ('prescriber__isnull', True)), _connector='OR'), name='medication_methadone_moud_via_otp', violation_error_message="Methadone for opioid use disorder is dispensed only by an opioid treatment program (OTP): give the OTP's name, not a prescriber on staff."),
        ),
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(('medication_class', 'moud'), ('otp_name', ''), _connector='OR'), name='medication_otp_only_for_moud', violation_error_message='Only MOUD is dosed by an opioid treatment program: leave the OTP empty for this class.'),
        ),
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(('prescriber__isnull', True), ('prescriber_name', ''), _connector='OR'), name='medication_one_prescriber', violation_error_message='Give either a prescriber on staff or an external name, not both.'),
        ),
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('agent', 'methadone'), ('medication_class', 'moud')), ('prescriber__isnull', False), models.Q(('prescriber_name', ''), _negated=True), _connector='OR'), name='medication_has_prescriber', violation_error_message="Give the prescriber: choose a prescriber on staff, or type the external prescriber's name."),
        ),
        migrations.AddConstraint(
            model_name='medication',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('medication_class', 'naloxone'), models.Q(('dispensed_or_prescribed', ''), _negated=True)), models.Q(models.Q(('medication_class', 'naloxone'), _negated=True), ('dispensed_or_prescribed', '')), _connector='OR'), name='medication_naloxone_dispensed_or_prescribed', violation_error_message='Say whether the naloxone was dispensed by the program or prescribed.'),
        ),
        migrations.AddConstraint(
            model_name='specimen',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('forensic', True), models.Q(('chain_of_custody_id', ''), _negated=True)), models.Q(('forensic', False), ('chain_of_custody_id', '')), _connector='OR'), name='specimen_forensic_has_chain_of_custody', violation_error_message='A forensic collection needs its chain of custody: give the chain-of-custody form number.'),
        ),
    ]
