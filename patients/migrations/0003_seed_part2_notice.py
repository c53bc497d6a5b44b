"""The first version of the program's Part 2 notice (42 CFR §2.32).

The abbreviated statement is the short form §2.32 allows. The long statement is left for the
program to paste from the current eCFR text word for word: the product must not paraphrase it.
Later wording changes are new versions (new rows), so every past disclosure keeps the notice it
carried.
"""

import datetime

from django.db import migrations

SHORT = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."
LONG = (
    "[Program to complete before first use] Paste here, word for word, the full statement from the "
    "current eCFR text of 42 CFR §2.32 (“Notice and copy of consent to accompany disclosure”), then "
    "publish it as a new notice version. Until then each disclosure carries the abbreviated "
    "statement above, with a copy of the consent's scope."
)


def seed(apps, schema_editor):
    Notice = apps.get_model("patients", "Part2NoticeTemplate")
    Notice.objects.get_or_create(
        version=1,
        defaults={
            "title": "Notice accompanying disclosure (42 CFR §2.32)",
            "short_statement": SHORT,
            "long_statement": LONG,
            "effective_on": datetime.date(2024, 4, 16),
        },
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_pg_trgm_extension")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
