"""Where an event came from (IP, user agent; DOMAIN.md §12 (b)): the request given to ``record``,
else the request being served (``users.middleware.CurrentRequestMiddleware``), else nothing."""

import threading

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from audit.models import Action
from audit.services import record
from users.middleware import CurrentRequestMiddleware, current_request

pytestmark = pytest.mark.django_db


def _request(ip="203.0.113.9", agent="AuditProbe/1.0"):
    return RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def test_an_event_recorded_while_serving_a_request_says_where_from(clinician, site):
    seen = {}

    def view(request):
        # A service records with the actor only, as patients.services do.
        seen["event"] = record(Action.UPDATE, actor=clinician, site=site)
        return HttpResponse()

    CurrentRequestMiddleware(view)(_request())
    event = seen["event"]
    assert (event.ip, event.user_agent, event.actor) == ("203.0.113.9", "AuditProbe/1.0", clinician)


def test_the_request_given_wins_and_the_actor_is_never_taken_from_the_current_one(clinician, site):
    def view(request):
        given = record(Action.VIEW, request=_request("198.51.100.7", "Given/2.0"), actor=clinician, site=site)
        unattributed = record(Action.UPDATE, site=site)
        return HttpResponse(f"{given.ip} {given.user_agent} {unattributed.actor_id}")

    response = CurrentRequestMiddleware(view)(_request())
    assert response.content.decode() == "198.51.100.7 Given/2.0 None"


def test_outside_a_request_events_have_no_origin(clinician, site):
    # A Celery task or a management command.
    assert current_request() is None
    event = record(Action.UPDATE, actor=clinician, site=site)
    assert (event.ip, event.user_agent) == (None, "")


def test_the_request_is_forgotten_after_the_response_and_after_an_error():
    def fails(request):
        assert current_request() is request
        raise RuntimeError("the view failed")

    with pytest.raises(RuntimeError):
        CurrentRequestMiddleware(fails)(_request())
    assert current_request() is None
    CurrentRequestMiddleware(lambda request: HttpResponse())(_request())
    assert current_request() is None


def test_each_thread_sees_only_its_own_request():
    inside = threading.Event()
    release = threading.Event()
    seen = {}

    def view(request):
        inside.set()
        release.wait(5)
        return HttpResponse()

    worker = threading.Thread(target=lambda: CurrentRequestMiddleware(view)(_request()))
    worker.start()
    inside.wait(5)
    seen["here"] = current_request()
    release.set()
    worker.join(5)
    assert seen["here"] is None
