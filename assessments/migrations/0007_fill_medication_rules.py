"""DOMAIN.md §8-§9 audit, step 2 of 3: make every existing medication satisfy the rules 0008 adds.

Nothing is deleted and no clinical fact is invented: where the old record cannot say (the OTP,
whether naloxone was handed over, who prescribed), the row says "Not recorded" or takes the
reading that claims least, and a line appended to the medication's notes says what changed and
what to check. Specimens need nothing: every existing one is non-forensic with no custody form.

- Class and agent agree: acamprosate or disulfiram filed as MOUD become MAUD; buprenorphine or
  methadone filed as MAUD become MOUD; naloxone under any class becomes the class Naloxone; a
  Naloxone row with the agent Other takes the agent naloxone, one with another agent becomes
  Other (its agent kept, so drug tests still read it); MOUD/MAUD with the agent Other (refused
  by the form since the start) becomes Other.
- MOUD naltrexone is the extended-release formulation.
- Methadone MOUD is dosed by an OTP: the OTP is "Not recorded" until staff name it, and a
  prescriber on staff moves to the notes.
- Every other medication has exactly one prescriber: "Not recorded" as the external prescriber
  where there was none; where both were given, the staff prescriber stays and the external name
  moves to the notes.
- Naloxone is "prescribed" unless staff correct it to "dispensed" (it was never asked).
"""

from django.db import migrations

NOT_RECORDED = "Not recorded"
OUD_ONLY = {"buprenorphine", "methadone"}
AUD_ONLY = {"acamprosate", "disulfiram"}
CLASS_LABELS = {"moud": "MOUD", "maud": "MAUD", "naloxone": "Naloxone", "other": "Other"}


def _class_fix(med) -> tuple[str | None, str | None]:
    """The (class, agent) the row should have, None where unchanged."""
    klass, agent = med.medication_class, med.agent
    if agent == "naloxone" and klass != "naloxone":
        return "naloxone", None
    if klass == "naloxone":
        return (None, "naloxone") if agent == "other" else ("other", None)
    if klass == "moud" and agent in AUD_ONLY:
        return "maud", None
    if klass == "maud" and agent in OUD_ONLY:
        return "moud", None
    if klass in ("moud", "maud") and agent == "other":
        return "other", None
    return None, None


def fill(apps, schema_editor):
    Medication = apps.get_model("assessments", "Medication")
    for med in Medication.objects.select_related("prescriber").order_by("pk").iterator():
        changed: set[str] = set()
        notes: list[str] = []

        new_class, new_agent = _class_fix(med)
        if new_class:
            notes.append(
                f"Class changed from {CLASS_LABELS[med.medication_class]} to {CLASS_LABELS[new_class]} "
                f"to match the agent ({med.agent})."
            )
            med.medication_class = new_class
            changed.add("medication_class")
        if new_agent:
            notes.append(f"Agent set to {new_agent}, the agent of the class.")
            med.agent = new_agent
            changed.add("agent")

        if med.medication_class == "moud" and med.agent == "naltrexone" and med.formulation != "extended_release":
            notes.append("Formulation set to extended-release: naltrexone for opioid use disorder is XR-naltrexone.")
            med.formulation = "extended_release"
            changed.add("formulation")

        med.prescriber_name = (med.prescriber_name or "").strip()
        if med.medication_class == "moud" and med.agent == "methadone":
            if med.prescriber_id:
                who = med.prescriber.full_name or med.prescriber.email
                notes.append(f"Prescriber on staff recorded before methadone MOUD was recorded via its OTP: {who}.")
                med.prescriber = None
                changed.add("prescriber")
            if not (med.otp_name or "").strip():
                notes.append("OTP not recorded before: name the opioid treatment program that doses the patient.")
                med.otp_name = NOT_RECORDED
                changed.add("otp_name")
        elif med.prescriber_id and med.prescriber_name:
            notes.append(f"External prescriber also given: {med.prescriber_name}.")
            med.prescriber_name = ""
            changed.add("prescriber_name")
        elif not med.prescriber_id and not med.prescriber_name:
            med.prescriber_name = NOT_RECORDED
            changed.add("prescriber_name")

        if med.medication_class == "naloxone" and not med.dispensed_or_prescribed:
            notes.append(
                "Recorded as prescribed: dispensed or prescribed was not asked before; "
                "change it to dispensed if the program handed the naloxone over."
            )
            med.dispensed_or_prescribed = "prescribed"
            changed.add("dispensed_or_prescribed")
        elif med.medication_class != "naloxone" and med.dispensed_or_prescribed:
            med.dispensed_or_prescribed = ""
            changed.add("dispensed_or_prescribed")

        if notes:
            line = "Records update (medication rules): " + " ".join(notes)
            med.notes = f"{med.notes.rstrip()}\n\n{line}" if med.notes.strip() else line
            changed.add("notes")
        if changed:
            med.save(update_fields=sorted(changed))


class Migration(migrations.Migration):

    dependencies = [
        ("assessments", "0006_medication_rules_forensic_custody"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
