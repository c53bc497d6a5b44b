import pytest

from patients.models import DEFAULT_PART2_NOTICE, Part2NoticeTemplate

pytestmark = pytest.mark.django_db


def test_a_database_without_any_notice_gets_the_default_version():
    # A restore or reset can leave the table empty; a disclosure must still carry a notice.
    Part2NoticeTemplate.objects.all()._raw_delete(Part2NoticeTemplate.objects.db)
    notice = Part2NoticeTemplate.current()
    assert notice.version == 1
    assert notice.short_statement == DEFAULT_PART2_NOTICE["short_statement"]


def test_a_programs_own_later_version_wins(db):
    Part2NoticeTemplate.current()
    Part2NoticeTemplate.objects.create(
        version=2, short_statement="short v2", long_statement="long v2", effective_on="2025-01-01"
    )
    assert Part2NoticeTemplate.current().version == 2
