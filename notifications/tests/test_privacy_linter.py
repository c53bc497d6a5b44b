"""The patient-template linter (DOMAIN.md §13): allowed and blocked cases, and the model refusing
to save a blocked template."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from notifications.models import MessageTemplate
from notifications.outbox import DEFAULT_TEMPLATES
from notifications.privacy import BLOCKED_TERMS, lint_patient_template, lint_template_syntax


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ first_name }}, a reminder of your appointment {{ when }}. {{ sender_name }}",
        "{{ initials }}: see you {{ when }}. Sign in for details: {{ sign_in_url }}",
        "Reminder from {{ sender_name }}. Reply STOP to opt out.",
        "Your drugstore order",  # whole words only: "drugstore" is not "drug"
        "Santa Ana office",  # "Ana" is not "NA"
        "{{ recovery_link }}",  # a variable name is not a shown word
    ],
)
def test_it_allows_neutral_texts(text):
    assert lint_patient_template(text) == []


@pytest.mark.parametrize(
    "text, word",
    [
        ("Your recovery group meets tomorrow", "recovery"),
        ("IOP session at 6pm", "iop"),
        ("Don't forget: Relapse prevention", "relapse"),
        ("Oak St. Rehab reminder", "rehab"),
        ("your SUBOXONE refill", "suboxone"),
        ("methadone clinic", "methadone"),
        ("Alcohol education class", "alcohol"),
        ("drugs and you", "drugs"),
        ("Stay sober!", "sober"),
        ("detox intake", "detox"),
        ("Addiction services", "addiction"),
        ("SUD program", "sud"),
        ("intensive   outpatient", "intensive outpatient"),
        ("bring your Narcan", "narcan"),
        ("naloxone training", "naloxone"),
        ("buprenorphine", "buprenorphine"),
        ("opioid", "opioid"),
        ("AA meeting", "aa"),
        ("NA tonight", "na"),
    ],
)
def test_it_blocks_words_that_reveal_treatment(text, word):
    (problem,) = lint_patient_template(text)
    assert f"“{word}”" in problem


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ first_name }} {{ last_name }}",
        "Hi {{ patient.first_name }} {{ patient.surname }}",
        "Dear {{ full_name }}",
        "Dear {{ patient.legal_name }}",
    ],
)
def test_it_blocks_first_and_last_name_together(text):
    (problem,) = lint_patient_template(text)
    assert "first name or initials" in problem


def test_first_name_alone_and_sender_name_are_fine():
    assert lint_patient_template("Hi {{ first_name }} from {{ sender_name }}") == []


def test_template_tags_other_than_if_are_refused():
    assert lint_template_syntax("{% if sign_in_url %}x{% endif %}") == []
    assert lint_template_syntax("{% debug %}")
    assert lint_template_syntax("{% include 'x.html' %}")
    assert lint_template_syntax("{% if %}")


def test_every_built_in_patient_template_passes_the_linter():
    for (key, _channel), template in DEFAULT_TEMPLATES.items():
        if template.audience == "patient":
            assert lint_patient_template(template.subject + "\n" + template.body) == [], key


@pytest.mark.django_db
def test_a_blocked_template_cannot_be_saved():
    template = MessageTemplate(key="session_reminder", channel="sms", body="Your IOP group is at {{ when }}")
    with pytest.raises(ValidationError) as exc:
        template.full_clean()
    assert "body" in exc.value.message_dict


@pytest.mark.django_db
def test_a_patient_template_cannot_dodge_the_linter_by_claiming_staff():
    template = MessageTemplate(key="session_reminder", channel="sms", audience="staff", body="Rehab at {{ when }}")
    with pytest.raises(ValidationError):
        template.full_clean()


@pytest.mark.django_db
def test_staff_templates_may_name_the_product():
    MessageTemplate(
        key="staff_urgent_alert", channel="email", audience="staff", subject="Urgent", body="IOP Clinic: sign in"
    ).full_clean()


@pytest.fixture
def admin_client(client):
    from users.tests.factories import UserFactory

    client.force_login(UserFactory(mfa=True, is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_the_admin_form_refuses_a_blocked_template(admin_client):
    response = admin_client.post(
        "/admin/notifications/messagetemplate/add/",
        {
            "key": "session_reminder",
            "channel": "sms",
            "audience": "patient",
            "subject": "",
            "body": "Sober living {{ when }}",
        },
    )
    assert response.status_code == 200
    assert "reveal substance-use treatment" in response.content.decode()
    assert not MessageTemplate.objects.exists()


@pytest.mark.django_db
def test_an_edited_template_is_used_and_its_version_recorded(admin_client, sms_patient, sms_outbox):
    from notifications import outbox

    admin_client.post(
        "/admin/notifications/messagetemplate/add/",
        {"key": "sms_help", "channel": "sms", "audience": "patient", "subject": "", "body": "{{ sender_name }}: v1"},
    )
    template = MessageTemplate.objects.get()
    admin_client.post(
        f"/admin/notifications/messagetemplate/{template.pk}/change/",
        {"key": "sms_help", "channel": "sms", "audience": "patient", "subject": "", "body": "{{ sender_name }}: v2"},
    )
    template.refresh_from_db()
    assert template.version == 2
    message, _ = outbox.enqueue(
        site=sms_patient.site, channel="sms", template_key="sms_help", cause="t", kind="k", patient=sms_patient
    )
    outbox.outbox_dispatch_due()
    message.refresh_from_db()
    assert message.template_version == 2
    assert sms_outbox.lines()[0]["body"].endswith(": v2")


# --- Words next to hyphens, inflected forms, every category DOMAIN.md §13 names ----------------------


@pytest.mark.parametrize(
    "text, word",
    [
        ("Your drug-free check-in is tomorrow", "drug"),
        ("Sober-living house meeting", "sober"),
        ("Post-detox visit at 9", "detox"),
        ("IOP-group moved to room B", "iop"),
        ("A recovery–focused session", "recovery"),  # an en dash is a break too
        ("Opioid-use follow-up", "opioid"),
        ("Two rehabs nearby", "rehabs"),
        ("Rehabbing well", "rehabbing"),
        ("Detoxing safely", "detoxing"),
        ("After relapsing", "relapsing"),
        ("Both IOPs meet", "iops"),
        ("Fewer overdoses this year", "overdoses"),
        ("Recoveries", "recoveries"),
        ("Your MAUD refill", "maud"),
        ("Your OTP dosing time", "otp"),
        ("Twelve-step meeting tonight", "twelve-step"),
        ("twelve step group", "twelve step"),
        ("12 Steps", "12 steps"),
        ("12-step", "12-step"),
        ("Your level-of-care review", "level-of-care"),
        ("Partial hospitalization starts Monday", "partial hospitalization"),
        ("Intensive Outpatient", "intensive outpatient"),
        ("Residential intake", "residential"),
        ("Psychoeducation: cravings", "cravings"),
        ("Refusal skills workshop", "refusal skills"),
        ("Bring your Vivitrol card", "vivitrol"),
        ("Sublocade shot", "sublocade"),
        ("Al-Anon meets Tuesday", "al-anon"),
        ("Your UDS is due", "uds"),
    ],
)
def test_it_blocks_words_next_to_hyphens_inflected_and_of_every_category(text, word):
    (problem,) = lint_patient_template(text)
    assert f"“{word}”" in problem  # the error names the word, so staff can fix the template


@pytest.mark.parametrize("term", BLOCKED_TERMS)
def test_every_listed_term_is_blocked_in_any_case_and_next_to_a_hyphen(term):
    assert lint_patient_template(term), term
    assert lint_patient_template(f"Pre-{term.upper()}-visit"), term


@pytest.mark.parametrize(
    "word",
    [
        "buprenorphine",
        "Suboxone",
        "methadone",
        "naltrexone",
        "Vivitrol",
        "naloxone",
        "Narcan",
        "acamprosate",
        "disulfiram",
        "Antabuse",
        "Sublocade",
        "MOUD",
        "MAUD",
        "MAT",
        "OTP",
        "intensive outpatient",
        "partial hospitalization",
        "relapse prevention",
        "recovery",
        "addiction",
        "IOP",
        "relapse",
        "detox",
        "sober",
        "rehab",
        "SUD",
        "alcohol",
        "drug",
    ],
)
def test_it_blocks_the_words_domain_md_names(word):
    assert lint_patient_template(f"Hi {{{{ first_name }}}}, about your {word} appointment"), word


@pytest.mark.parametrize(
    "text",
    [
        "Hotpot night at the community room",  # "otp" inside a word
        "Prerehabilitation stretches",  # "rehab" inside a word
        "You can use the side door",  # "use" alone is an ordinary word
        "Used, uses, using",
        "The Methodist church lot is closed",
        "Mathematics tutoring",
        "Please update your address",
        "Matthew will call you",
        "Sudden change of room",
        "Bring your drugstore receipt",
        "Call 555-0100 if you are running late",
        "Reply STOP to opt out",
        "{{ sender_name }}: Hi {{ first_name }}, a reminder of your appointment {{ when }}.",
    ],
)
def test_it_keeps_whole_word_matching(text):
    assert lint_patient_template(text) == []
