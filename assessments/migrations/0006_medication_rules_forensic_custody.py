"""DOMAIN.md §8-§9 audit, step 1 of 3 (columns): a medication's formulation (MOUD naltrexone is
the extended-release one), the OTP that doses methadone MOUD, and whether naloxone was dispensed
or prescribed; the agent list grows to the prescribed drugs a drug test finds (benzodiazepines,
barbiturates, stimulants, opioid analgesics, dronabinol); a specimen's forensic flag and
chain-of-custody form number; the cut-off's help text. 0007 fills existing rows, 0008 adds the
constraints.
"""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('assessments', '0005_placement_reason_codes_recovery_residence'),
    ]

    operations = [
        migrations.AddField(
            model_name='medication',
            name='dispensed_or_prescribed',
            field=models.CharField(blank=True, choices=[('dispensed', 'Dispensed (handed to the patient by the program)'), ('prescribed', 'Prescribed')], help_text='Naloxone only (required): handed to the patient by the program, or prescribed.', max_length=10, verbose_name='Naloxone dispensed or prescribed'),
        ),
        migrations.AddField(
            model_name='medication',
            name='formulation',
            field=models.CharField(blank=True, choices=[('oral', 'Oral (tablet, capsule or liquid)'), ('sublingual', 'Sublingual or buccal'), ('extended_release', 'Extended-release injection or implant'), ('injection', 'Injection (immediate-release)'), ('nasal', 'Nasal spray'), ('transdermal', 'Transdermal patch'), ('other', 'Other')], help_text='Naltrexone for opioid use disorder must be the extended-release injection.', max_length=16),
        ),
        migrations.AddField(
            model_name='medication',
            name='otp_name',
            field=models.CharField(blank=True, help_text='Required for methadone MOUD: the OTP that doses the patient (its prescriber, if known, goes in External prescriber).', max_length=120, verbose_name='Opioid treatment program (OTP)'),
        ),
        migrations.AddField(
            model_name='specimen',
            name='chain_of_custody_id',
            field=models.CharField(blank=True, help_text='Forensic collections only (required): the number of the custody and control form that travels with the specimen.', max_length=40, verbose_name='Chain-of-custody form number'),
        ),
        migrations.AddField(
            model_name='specimen',
            name='forensic',
            field=models.BooleanField(default=False, help_text='Collected for a legal purpose (court, probation, employer): needs a chain-of-custody form.', verbose_name='Forensic collection'),
        ),
        migrations.AlterField(
            model_name='analyteresult',
            name='cutoff',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='Required with a negative or positive result: positive means at or above the cut-off.', max_digits=10, null=True, validators=[django.core.validators.MinValueValidator(0)], verbose_name='Cut-off'),
        ),
        migrations.AlterField(
            model_name='medication',
            name='agent',
            field=models.CharField(choices=[('MOUD, MAUD and naloxone', [('buprenorphine', 'Buprenorphine (incl. buprenorphine/naloxone)'), ('methadone', 'Methadone'), ('naltrexone', 'Naltrexone'), ('acamprosate', 'Acamprosate'), ('disulfiram', 'Disulfiram'), ('naloxone', 'Naloxone')]), ('Benzodiazepines', [('alprazolam', 'Alprazolam'), ('chlordiazepoxide', 'Chlordiazepoxide'), ('clonazepam', 'Clonazepam'), ('diazepam', 'Diazepam'), ('lorazepam', 'Lorazepam'), ('oxazepam', 'Oxazepam'), ('temazepam', 'Temazepam')]), ('Barbiturates', [('butalbital', 'Butalbital'), ('phenobarbital', 'Phenobarbital')]), ('Stimulants', [('amphetamine', 'Amphetamine (mixed salts, dextroamphetamine, lisdexamfetamine)'), ('methamphetamine', 'Methamphetamine'), ('methylphenidate', 'Methylphenidate')]), ('Opioid analgesics', [('codeine', 'Codeine'), ('fentanyl', 'Fentanyl'), ('hydrocodone', 'Hydrocodone'), ('hydromorphone', 'Hydromorphone'), ('morphine', 'Morphine'), ('oxycodone', 'Oxycodone'), ('oxymorphone', 'Oxymorphone'), ('tapentadol', 'Tapentadol'), ('tramadol', 'Tramadol')]), ('Cannabinoids', [('dronabinol', 'Dronabinol')]), ('other', 'Other')], default='other', help_text='MOUD: buprenorphine, methadone or extended-release naltrexone. MAUD: acamprosate, naltrexone or disulfiram. For any other medication choose its agent if listed (drug tests are checked against the whole list), else Other.', max_length=20),
        ),
    ]
