"""sessions.demo.seed: rolls for the demo's past group sessions, signed notes and a draft; safe twice."""

import io

import pytest

from patients import demo as patients_demo
from scheduling import demo as scheduling_demo
from sessions import demo
from sessions.models import Attendance, GroupNote, NoteStatus
from users import demo as users_demo

pytestmark = pytest.mark.django_db


def counts():
    return [Attendance.objects.count(), GroupNote.objects.count(), GroupNote.objects.signed().count()]


def test_it_takes_roll_signs_notes_and_can_run_twice():
    context = users_demo.seed(io.StringIO(), {})
    for module in (patients_demo, scheduling_demo):
        context.update(module.seed(io.StringIO(), context) or {})
    demo.seed(io.StringIO(), context)
    first = counts()
    demo.seed(io.StringIO(), context)
    assert counts() == first
    statuses = set(Attendance.objects.values_list("status", flat=True))
    assert "present" in statuses and statuses <= {"present", "late", "no_show"}
    assert first[2] >= 1
    assert GroupNote.objects.filter(status=NoteStatus.DRAFT).exists()
    assert all(n.hash_verifies() for n in GroupNote.objects.signed())
