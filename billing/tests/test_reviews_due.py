"""Utilization reviews due (``billing.selectors.reviews_due``): the next review the latest
review of an open episode's current authorization set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.selectors import reviews_due
from patients.models import Episode, site_today
from scheduling.tests.factories import make_episode

from .helpers import make_authorization

pytestmark = pytest.mark.django_db


def _review(auth, by, *, on, next_on, kind="concurrent"):
    return services.utilization_review_record(
        authorization=auth,
        by=by,
        review_date=on,
        kind=kind,
        outcome="approved",
        next_review_date=next_on,
        reviewer="Dr. Payer Reviewer",
    )


@pytest.fixture
def today(site):
    return site_today(site)


def test_a_review_due_within_the_horizon_is_listed_and_one_beyond_it_is_not(site, episode, payer, intake, today):
    auth = make_authorization(episode, payer, by=intake, start=today - timedelta(days=10))
    _review(auth, intake, on=today - timedelta(days=5), next_on=today + timedelta(days=2))
    assert reviews_due([site.pk], today) == []
    assert reviews_due([site.pk], today, horizon_days=1) == []
    (due,) = reviews_due([site.pk], today, horizon_days=2)
    assert due.authorization == auth and due.due_on == today + timedelta(days=2)
    assert due.patient == episode.patient and not due.overdue(today)
    assert due.overdue(today + timedelta(days=3))


def test_an_overdue_review_stays_listed(site, episode, payer, intake, today):
    auth = make_authorization(episode, payer, by=intake, start=today - timedelta(days=20))
    _review(auth, intake, on=today - timedelta(days=15), next_on=today - timedelta(days=1))
    (due,) = reviews_due([site.pk], today)
    assert due.overdue(today)


def test_the_latest_review_sets_the_date_and_a_discharge_review_ends_them(site, episode, payer, intake, today):
    auth = make_authorization(episode, payer, by=intake, start=today - timedelta(days=20))
    _review(auth, intake, on=today - timedelta(days=20), next_on=today - timedelta(days=10), kind="initial")
    _review(auth, intake, on=today - timedelta(days=9), next_on=today + timedelta(days=5))
    assert reviews_due([site.pk], today, horizon_days=2) == []  # the older date was met
    assert [d.due_on for d in reviews_due([site.pk], today, horizon_days=5)] == [today + timedelta(days=5)]
    _review(auth, intake, on=today, next_on=None, kind="discharge")
    assert reviews_due([site.pk], today, horizon_days=30) == []


def test_only_the_current_authorization_counts(site, episode, payer, intake, today):
    old = make_authorization(episode, payer, by=intake, start=today - timedelta(days=30), days=20)
    _review(old, intake, on=today - timedelta(days=25), next_on=today - timedelta(days=12))
    assert len(reviews_due([site.pk], today)) == 1
    # A new authorization (its review recorded with it at the start) replaces the old one's.
    new = make_authorization(episode, payer, by=intake, start=today - timedelta(days=10), days=30)
    assert reviews_due([site.pk], today) == []
    _review(new, intake, on=today - timedelta(days=10), next_on=today + timedelta(days=1))
    assert [d.authorization for d in reviews_due([site.pk], today, horizon_days=1)] == [new]


def test_discharged_episodes_and_other_sites_are_left_out(site, other_site, episode, payer, intake, today):
    auth = make_authorization(episode, payer, by=intake, start=today - timedelta(days=10))
    _review(auth, intake, on=today - timedelta(days=5), next_on=today)
    assert reviews_due([other_site.pk], today) == []
    assert len(reviews_due([site.pk], today)) == 1
    Episode.objects.filter(pk=episode.pk).update(discharge_date=today, discharge_type="completed")
    assert reviews_due([site.pk], today) == []


def test_two_queries_for_one_or_many_episodes(site, payer, intake, today):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = reviews_due([site.pk], today, horizon_days=3)
            [(d.patient.mrn, d.authorization.payer.name) for d in rows]
        return len(ctx.captured_queries), len(rows)

    for n in range(6):
        episode = make_episode(site, admitted=today - timedelta(days=20))
        auth = make_authorization(episode, payer, by=intake, start=today - timedelta(days=20))
        _review(auth, intake, on=today - timedelta(days=10), next_on=today + timedelta(days=n % 3))
        if n == 0:
            assert count() == (2, 1)
    assert count() == (2, 6)


def test_each_payers_latest_authorization_keeps_its_own_review(site, episode, payer, intake, today):
    from .helpers import make_payer

    second = make_payer("Secondary Health Plan", kind="commercial")
    primary = make_authorization(episode, payer, by=intake, start=today - timedelta(days=10))
    other = make_authorization(episode, second, by=intake, start=today - timedelta(days=5))
    _review(primary, intake, on=today - timedelta(days=5), next_on=today)
    _review(other, intake, on=today - timedelta(days=5), next_on=today + timedelta(days=1))
    assert [d.authorization for d in reviews_due([site.pk], today, horizon_days=1)] == [primary, other]


def test_the_page_and_the_task_read_the_same_rule(site, episode, payer, intake, today, settings):
    from billing.selectors import DUE_SOON, OVERDUE, SCHEDULED, review_state, superseded

    settings.UR_REVIEW_ALERT_DAYS = 2
    ended = make_authorization(episode, payer, by=intake, start=today - timedelta(days=30), days=20)
    _review(ended, intake, on=today - timedelta(days=20), next_on=today - timedelta(days=3))
    ended = type(ended).objects.prefetch_related("reviews").select_related("episode").get(pk=ended.pk)
    # The authorization has run out, the episode goes on: the continued-stay review is overdue.
    assert review_state(ended, today, replaced=superseded([ended])) == OVERDUE
    assert len(reviews_due([site.pk], today)) == 1
    later = make_authorization(episode, payer, by=intake, start=today - timedelta(days=9), days=30)
    assert review_state(ended, today, replaced=superseded([ended, later])) == ""
    for days, state in ((2, DUE_SOON), (3, SCHEDULED)):
        _review(later, intake, on=today, next_on=today + timedelta(days=days))
        fresh = type(later).objects.prefetch_related("reviews").select_related("episode").get(pk=later.pk)
        assert review_state(fresh, today, replaced=set()) == state
        assert bool(reviews_due([site.pk], today, horizon_days=settings.UR_REVIEW_ALERT_DAYS)) == (state == DUE_SOON)
