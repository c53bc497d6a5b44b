"""Scheduling pages: calendars, "my day", tracks, rooms, closures, bookings, enrollment, feeds."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.models import Action
from audit.services import record
from users.forms import add_service_errors
from users.permissions import has_capability, require_capability

from . import services
from .forms import (
    AvailabilityForm,
    BookSessionForm,
    CancelSessionForm,
    ClosureForm,
    DeactivateTrackForm,
    EndEnrollmentForm,
    EnrollForm,
    MoveEnrollmentForm,
    MoveSessionForm,
    RoomForm,
    RosterAddForm,
    TaperForm,
    TimeOffForm,
    TrackForm,
    block_formset,
    block_specs,
    staff_at,
)
from .ical import feed_for
from .models import (
    CalendarFeed,
    Closure,
    Enrollment,
    Room,
    RosterAddition,
    SessionStatus,
    StaffAvailability,
    TherapySession,
    TimeOff,
    Track,
    local_datetime,
    week_start,
    weekly_hours_of,
)
from .permissions import (
    can_see_names,
    get_closure_for_user,
    get_enrollment_for_user,
    get_room_for_user,
    get_session_for_user,
    get_track_for_user,
    site_for_request,
)
from .selectors import patient_sessions, rosters_for


def _week_from(request: HttpRequest, site) -> date:
    raw = request.GET.get("week")
    try:
        day = date.fromisoformat(raw) if raw else timezone.localdate(timezone=site.zone)
    except ValueError:
        day = timezone.localdate(timezone=site.zone)
    return week_start(day)


def _week_bounds(site, monday: date) -> tuple[datetime, datetime]:
    return local_datetime(monday, time.min, site.zone), local_datetime(monday + timedelta(days=7), time.min, site.zone)


def _roster_counts(sessions) -> dict[int, int]:
    return {pk: len(entries) for pk, entries in rosters_for(sessions).items()}


def _audit_roster_view(request: HttpRequest, site, page: str, rosters, object_id: str = "") -> None:
    """One audit event per page view that showed patient names (never one per patient)."""
    patients = sorted({str(e.patient.public_id) for entries in rosters for e in entries})
    if patients:
        record(
            Action.VIEW,
            request=request,
            site=site,
            object_type=page,
            object_id=object_id,
            changes={"patients": patients},
        )


# --- Calendars -------------------------------------------------------------------------------


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    """The site's week: sessions by room, facilitator or track, times in the site's zone.
    Rosters appear as counts only, so this page shows no patient data."""
    site = site_for_request(request)
    monday = _week_from(request, site)
    by = request.GET.get("by") if request.GET.get("by") in {"room", "facilitator", "track"} else "room"
    start, end = _week_bounds(site, monday)
    sessions = list(TherapySession.objects.filter(site=site).between(start, end).for_calendar())
    for s in sessions:
        s.site = site  # one zone object for every row, no per-row lookups
    counts = _roster_counts(sessions)
    days = [monday + timedelta(days=i) for i in range(7)]
    rows: dict[object, dict] = {}

    def row(key, label):
        return rows.setdefault(key, {"label": label, "cells": [[] for _ in days]})

    if by == "room":
        for room in Room.objects.filter(site=site, is_active=True):
            row(room.pk, room.name)
    for s in sessions:
        s.roster_count = counts.get(s.pk, 0)
        index = (s.local_start().date() - monday).days
        if by == "room":
            targets = [row(s.room_id, s.room.name if s.room else "No room")]
        elif by == "track":
            targets = [row(s.track_id, s.track.name if s.track else "Individual and family")]
        else:
            people = list(s.facilitators.all())
            targets = [row(u.pk, u.signature_name) for u in people] or [row(None, "No facilitator")]
        for target in targets:
            target["cells"][index].append(s)
    closures = dict(
        Closure.objects.filter(site=site, date__gte=monday, date__lt=monday + timedelta(days=7)).values_list(
            "date", "reason"
        )
    )
    return render(
        request,
        "scheduling/calendar.html",
        {
            "site": site,
            "by": by,
            "days": [(d, closures.get(d)) for d in days],
            "rows": sorted(rows.values(), key=lambda r: (r["label"] in {"No room", "No facilitator"}, r["label"])),
            "monday": monday,
            "prev_week": monday - timedelta(days=7),
            "next_week": monday + timedelta(days=7),
            "session_count": len(sessions),
            "can_manage": has_capability(request.user, site, "schedule.manage"),
            "can_book": has_capability(request.user, site, "schedule.book"),
        },
    )


@login_required
def my_day(request: HttpRequest) -> HttpResponse:
    """The signed-in clinician's sessions on one day, with their rosters."""
    site = site_for_request(request)
    raw = request.GET.get("date")
    try:
        day = date.fromisoformat(raw) if raw else timezone.localdate(timezone=site.zone)
    except ValueError:
        day = timezone.localdate(timezone=site.zone)
    start = local_datetime(day, time.min, site.zone)
    sessions = list(
        TherapySession.objects.filter(site=site, facilitators=request.user)
        .between(start, local_datetime(day + timedelta(days=1), time.min, site.zone))
        .for_calendar()
    )
    for s in sessions:
        s.site = site
    rosters = rosters_for(sessions)
    show_names = can_see_names(request.user, site)
    for s in sessions:
        s.roster = rosters[s.pk] if show_names else []
        s.roster_count = len(rosters[s.pk])
    if show_names:
        _audit_roster_view(request, site, "scheduling.my_day", [s.roster for s in sessions], object_id=day.isoformat())
    return render(
        request,
        "scheduling/my_day.html",
        {
            "site": site,
            "day": day,
            "sessions": sessions,
            "show_names": show_names,
            "prev_day": day - timedelta(days=1),
            "next_day": day + timedelta(days=1),
        },
    )


# --- Sessions ----------------------------------------------------------------------------------


@login_required
def session_detail(request: HttpRequest, public_id) -> HttpResponse:
    session = get_session_for_user(request.user, public_id)
    site = session.site
    rosters = rosters_for([session])
    show_names = can_see_names(request.user, site)
    roster = rosters[session.pk] if show_names else []
    can_book = has_capability(request.user, site, "schedule.book")
    form = RosterAddForm(site=site) if can_book and show_names and session.status == SessionStatus.SCHEDULED else None
    if show_names:
        _audit_roster_view(request, site, "scheduling.session", [roster], object_id=str(session.public_id))
    return render(
        request,
        "scheduling/session_detail.html",
        {
            "site": site,
            "session": session,
            "roster": roster,
            "roster_count": len(rosters[session.pk]),
            "show_names": show_names,
            "can_book": can_book,
            # One-off additions can come off the roster until the session starts.
            "can_remove": can_book and show_names and session.starts_at > timezone.now(),
            "form": form,
            "cancel_form": CancelSessionForm(),
        },
    )


@login_required
@require_POST
def roster_add(request: HttpRequest, public_id) -> HttpResponse:
    session = get_session_for_user(request.user, public_id, write=True)
    require_capability(request.user, session.site, "patient.view")
    form = RosterAddForm(request.POST, site=session.site)
    if form.is_valid():
        try:
            services.roster_add(session=session, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Added to this session's roster.")
    else:
        messages.error(request, "Choose a patient with an open episode.")
    return redirect("scheduling:session_detail", public_id=session.public_id)


@login_required
@require_POST
def roster_remove(request: HttpRequest, public_id) -> HttpResponse:
    """Take a one-off addition off this session's roster (enrolled patients stay)."""
    session = get_session_for_user(request.user, public_id, write=True)
    require_capability(request.user, session.site, "patient.view")
    raw = request.POST.get("addition", "")
    addition = RosterAddition.objects.filter(session=session, pk=int(raw)).first() if raw.isdigit() else None
    if addition is None:
        raise Http404
    try:
        services.roster_remove(addition=addition, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Removed from this session's roster.")
    return redirect("scheduling:session_detail", public_id=session.public_id)


@login_required
def session_move(request: HttpRequest, public_id) -> HttpResponse:
    session = get_session_for_user(request.user, public_id, write=True)
    site = session.site
    start, end = session.local_start(), session.local_end()
    initial = {
        "date": start.date(),
        "start_time": start.time(),
        "end_time": end.time(),
        "room": session.room,
        "facilitators": list(session.facilitators.all()),
    }
    form = MoveSessionForm(request.POST or None, initial=initial, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.session_move(
                session=session,
                by=request.user,
                starts_at=local_datetime(data["date"], data["start_time"], site.zone),
                ends_at=local_datetime(data["date"], data["end_time"], site.zone),
                room=data["room"],
                facilitators=list(data["facilitators"]),
                note=data["note"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "ends_at" in exc.error_dict:
                exc = ValidationError({("end_time" if k == "ends_at" else k): v for k, v in exc.error_dict.items()})
            add_service_errors(form, exc)
        else:
            messages.success(request, "Session moved. The rest of the series is unchanged.")
            return redirect("scheduling:session_detail", public_id=session.public_id)
    return render(request, "scheduling/session_move.html", {"site": site, "session": session, "form": form})


@login_required
@require_POST
def session_cancel(request: HttpRequest, public_id) -> HttpResponse:
    session = get_session_for_user(request.user, public_id, write=True)
    form = CancelSessionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    services.session_cancel(session=session, by=request.user, note=note)
    messages.success(request, "Session cancelled. The rest of the series is unchanged.")
    return redirect("scheduling:session_detail", public_id=session.public_id)


@login_required
def session_book(request: HttpRequest) -> HttpResponse:
    """Book an individual, family or case-management session, once or weekly."""
    site = site_for_request(request, "schedule.book")
    form = BookSessionForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sessions = services.session_book(
                site=site,
                by=request.user,
                kind=data["kind"],
                day=data["day"],
                start_time=data["start_time"],
                end_time=data["end_time"],
                facilitators=list(data["facilitators"]),
                room=data["room"],
                episode=data["episode"],
                topic=data["topic"],
                repeat_weeks=data["repeat_weeks"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Booked {len(sessions)} session{'s' if len(sessions) != 1 else ''}.")
            return redirect("scheduling:session_detail", public_id=sessions[0].public_id)
    return render(request, "scheduling/session_book.html", {"site": site, "form": form})


# --- Tracks ------------------------------------------------------------------------------------------


@login_required
def track_list(request: HttpRequest) -> HttpResponse:
    site = site_for_request(request)
    tracks = list(Track.objects.filter(site=site).prefetch_related("blocks"))
    for track in tracks:
        track.weekly_hours = weekly_hours_of(track, [b for b in track.blocks.all() if b.is_active])
    return render(
        request,
        "scheduling/track_list.html",
        {"site": site, "tracks": tracks, "can_manage": has_capability(request.user, site, "schedule.manage")},
    )


def _track_form_page(request: HttpRequest, site, track: Track | None) -> HttpResponse:
    form = TrackForm(request.POST or None, instance=track)
    formset = block_formset(site, request.POST or None, track)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            if track is None:
                track = services.track_create(
                    site=site, by=request.user, blocks=block_specs(formset), **form.track_fields()
                )
                messages.success(request, f"Track “{track.name}” created and its sessions generated.")
            else:
                services.track_update(track=track, by=request.user, blocks=block_specs(formset), **form.track_fields())
                messages.success(request, "Track saved. Future sessions follow the change; past and moved ones do not.")
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "blocks" in exc.error_dict:
                formset.non_form_errors().extend(exc.message_dict["blocks"])
                rest = {k: v for k, v in exc.message_dict.items() if k != "blocks"}
                if rest:
                    add_service_errors(form, ValidationError(rest))
            else:
                add_service_errors(form, exc)
            if track is not None and track.pk is None:
                track = None
        else:
            return redirect("scheduling:track_detail", public_id=track.public_id)
    return render(
        request,
        "scheduling/track_form.html",
        {"site": site, "track": track, "form": form, "formset": formset},
    )


@login_required
def track_create(request: HttpRequest) -> HttpResponse:
    site = site_for_request(request, "schedule.manage")
    return _track_form_page(request, site, None)


@login_required
def track_edit(request: HttpRequest, public_id) -> HttpResponse:
    track = get_track_for_user(request.user, public_id, write=True)
    return _track_form_page(request, track.site, track)


@login_required
def track_detail(request: HttpRequest, public_id) -> HttpResponse:
    track = get_track_for_user(request.user, public_id)
    site = track.site
    blocks = list(track.blocks.active().select_related("room").prefetch_related("facilitators"))
    show_names = can_see_names(request.user, site)
    enrollments = []
    if show_names:
        enrollments = list(
            Enrollment.objects.filter(track=track, episode__patient__deleted_at__isnull=True)
            .select_related("episode__patient")
            .order_by("-start_date")
        )
        if enrollments:
            record(
                Action.VIEW,
                request=request,
                site=site,
                obj=track,
                object_type="scheduling.track_roster",
                changes={"patients": sorted({str(e.episode.patient.public_id) for e in enrollments})},
            )
    today = timezone.localdate(timezone=site.zone)
    return render(
        request,
        "scheduling/track_detail.html",
        {
            "site": site,
            "track": track,
            "blocks": blocks,
            "weekly_hours": weekly_hours_of(track, blocks),
            "rule": track.rule,
            "enrollments": enrollments,
            "current": [e for e in enrollments if e.is_active_on(today) or e.start_date > today],
            "past": [e for e in enrollments if not (e.is_active_on(today) or e.start_date > today)],
            "show_names": show_names,
            "can_manage": has_capability(request.user, site, "schedule.manage"),
            "can_enroll": show_names and has_capability(request.user, site, "enrollment.manage"),
            "upcoming": TherapySession.objects.filter(track=track, starts_at__gte=timezone.now()).count(),
        },
    )


@login_required
@require_POST
def track_generate(request: HttpRequest, public_id) -> HttpResponse:
    track = get_track_for_user(request.user, public_id, write=True)
    result = services.track_generate_sessions(track=track, by=request.user)
    text = f"{result.created} new session{'s' if result.created != 1 else ''} generated."
    if result.conflicts:
        messages.warning(request, f"{text} {len(result.conflicts)} could not be booked: {result.conflicts[0]}")
    else:
        messages.success(request, text)
    return redirect("scheduling:track_detail", public_id=track.public_id)


@login_required
def track_deactivate(request: HttpRequest, public_id) -> HttpResponse:
    """Confirm, then stop the track: its future sessions are cancelled (kept, never deleted)."""
    track = get_track_for_user(request.user, public_id, write=True)
    if not track.is_active:
        messages.info(request, "This track is already inactive.")
        return redirect("scheduling:track_detail", public_id=track.public_id)
    form = DeactivateTrackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            cancelled = services.track_deactivate(track=track, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"{track.name} is inactive; {cancelled} future session{'s' if cancelled != 1 else ''} "
                "cancelled and kept on the calendar.",
            )
            return redirect("scheduling:track_detail", public_id=track.public_id)
    upcoming = TherapySession.objects.filter(
        track=track, status=SessionStatus.SCHEDULED, starts_at__gte=timezone.now()
    ).count()
    return render(
        request,
        "scheduling/track_deactivate.html",
        {"site": track.site, "track": track, "form": form, "upcoming": upcoming},
    )


# --- Enrollment ------------------------------------------------------------------------------------


@login_required
def enroll(request: HttpRequest, public_id) -> HttpResponse:
    track = get_track_for_user(request.user, public_id)
    require_capability(request.user, track.site, "enrollment.manage")
    require_capability(request.user, track.site, "patient.view")
    form = EnrollForm(
        request.POST or None,
        site=track.site,
        may_taper=has_capability(request.user, track.site, "clinical.write"),
        initial={"start_date": timezone.localdate(timezone=track.site.zone)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.enrollment_create(track=track, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "track" in exc.error_dict:
                exc = ValidationError({"episode" if k == "track" else k: v for k, v in exc.error_dict.items()})
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Enrolled in {track.name}.")
            return redirect("scheduling:track_detail", public_id=track.public_id)
    return render(request, "scheduling/enroll.html", {"site": track.site, "track": track, "form": form})


@login_required
def enrollment_change(request: HttpRequest, public_id) -> HttpResponse:
    """End an enrollment, move it to another track, or set its transition-taper flag (the taper
    is a clinician's decision: the form is shown to ``clinical.write`` only, the service refuses
    anyone else)."""
    enrollment = get_enrollment_for_user(request.user, public_id, write=True)
    track = enrollment.track
    site = track.site
    action = request.POST.get("action") if request.method == "POST" else None
    may_taper = has_capability(request.user, site, "clinical.write")
    end_form = EndEnrollmentForm(request.POST if action == "end" else None)
    move_form = MoveEnrollmentForm(request.POST if action == "move" else None, site=site, exclude=track)
    taper_form = TaperForm(request.POST if action == "taper" else None, initial={"is_taper": enrollment.is_taper})
    forms_by_action = {"end": end_form, "move": move_form, "taper": taper_form}
    if request.method == "POST":
        try:
            if action == "end" and end_form.is_valid():
                services.enrollment_end(enrollment=enrollment, by=request.user, **end_form.cleaned_data)
                messages.success(request, "Enrollment ended.")
                return redirect("scheduling:track_detail", public_id=track.public_id)
            if action == "move" and move_form.is_valid():
                new = services.enrollment_move(enrollment=enrollment, by=request.user, **move_form.cleaned_data)
                messages.success(request, f"Moved to {new.track.name}; the earlier enrollment is kept in the history.")
                return redirect("scheduling:track_detail", public_id=new.track.public_id)
            if action == "taper" and taper_form.is_valid():
                services.enrollment_set_taper(
                    enrollment=enrollment, is_taper=taper_form.cleaned_data["is_taper"], by=request.user
                )
                messages.success(request, "Transition taper saved.")
                return redirect("scheduling:track_detail", public_id=track.public_id)
        except ValidationError as exc:
            add_service_errors(forms_by_action.get(action, move_form), exc)
    record(Action.VIEW, request=request, site=site, patient=enrollment.episode.patient, obj=enrollment)
    return render(
        request,
        "scheduling/enrollment_change.html",
        {
            "site": site,
            "track": track,
            "enrollment": enrollment,
            "end_form": end_form,
            "move_form": move_form,
            "taper_form": taper_form,
            "may_taper": may_taper,
        },
    )


# --- Rooms and closures ----------------------------------------------------------------------------


@login_required
def room_list(request: HttpRequest) -> HttpResponse:
    site = site_for_request(request)
    can_manage = has_capability(request.user, site, "schedule.manage")
    form = RoomForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.room_create(site=site, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Room “{form.cleaned_data['name']}” added.")
                return redirect(f"{reverse('scheduling:room_list')}?site={site.public_id}")
    rooms = Room.objects.filter(site=site)
    return render(
        request, "scheduling/room_list.html", {"site": site, "rooms": rooms, "form": form, "can_manage": can_manage}
    )


@login_required
def room_edit(request: HttpRequest, pk: int) -> HttpResponse:
    room = get_room_for_user(request.user, pk, write=True)
    form = RoomForm(request.POST or None, instance=Room.objects.get(pk=room.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.room_update(room=room, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Room saved.")
            return redirect(f"{reverse('scheduling:room_list')}?site={room.site.public_id}")
    return render(request, "scheduling/room_edit.html", {"site": room.site, "room": room, "form": form})


@login_required
def closure_list(request: HttpRequest) -> HttpResponse:
    site = site_for_request(request)
    can_manage = has_capability(request.user, site, "schedule.manage")
    form = ClosureForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.closure_create(site=site, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Closure saved; sessions that day are cancelled with its reason.")
                return redirect(f"{reverse('scheduling:closure_list')}?site={site.public_id}")
    today = timezone.localdate(timezone=site.zone)
    closures = Closure.objects.filter(site=site, date__gte=today - timedelta(days=60))
    return render(
        request,
        "scheduling/closure_list.html",
        {"site": site, "closures": closures, "form": form, "can_manage": can_manage},
    )


@login_required
@require_POST
def closure_delete(request: HttpRequest, pk: int) -> HttpResponse:
    closure = get_closure_for_user(request.user, pk, write=True)
    site = closure.site
    restored = services.closure_delete(closure=closure, by=request.user)
    messages.success(request, f"Closure removed; {restored} session{'s' if restored != 1 else ''} restored.")
    return redirect(f"{reverse('scheduling:closure_list')}?site={site.public_id}")


# --- Staff hours and time off ---------------------------------------------------------------------------


def _person_at(site, public_id):
    """An active staff member of ``site``, or 404 (a stranger's id reveals nothing)."""
    person = staff_at(site).filter(public_id=public_id).first()
    if person is None:
        raise Http404
    return person


def _time_off_errors(form: TimeOffForm, exc: ValidationError) -> None:
    """The model speaks of instants; the form of dates and times."""
    if hasattr(exc, "error_dict"):
        data = form.cleaned_data
        end_field = (
            "end_time" if data.get("end_date") == data.get("start_date") and data.get("end_time") else "end_date"
        )
        names = {"starts_at": "start_date", "ends_at": end_field}
        exc = ValidationError({names.get(k, k): v for k, v in exc.error_dict.items()})
    add_service_errors(form, exc)


def _availability_page(request: HttpRequest, site, person) -> HttpResponse:
    """Weekly working hours at ``site`` and time off of ``person``: their own, or anyone's at the
    site for ``schedule.manage``. Bookings check both; changing them moves no session."""
    own = person.pk == request.user.pk
    can_manage = has_capability(request.user, site, "schedule.manage")
    if not own and not can_manage:
        raise PermissionDenied
    action = request.POST.get("action") if request.method == "POST" else None
    hours_form = AvailabilityForm(request.POST if action == "hours" else None, prefix="hours")
    off_form = TimeOffForm(request.POST if action == "off" else None, prefix="off")
    page = request.get_full_path()
    if action == "hours" and hours_form.is_valid():
        try:
            services.availability_add(user=person, site=site, by=request.user, **hours_form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(hours_form, exc)
        else:
            messages.success(request, "Working hours added.")
            return redirect(page)
    elif action == "off" and off_form.is_valid():
        starts_at, ends_at = off_form.span(site.zone)
        try:
            services.time_off_add(
                user=person,
                site=site,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=off_form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as exc:
            _time_off_errors(off_form, exc)
        else:
            messages.success(request, "Time off recorded; new bookings in that period are refused.")
            return redirect(page)
    elif action in {"remove_hours", "remove_off"}:
        raw = request.POST.get("pk", "")
        if action == "remove_hours":
            slot = StaffAvailability.objects.filter(user=person, site=site, pk=raw).first() if raw.isdigit() else None
            if slot is None:
                raise Http404
            services.availability_remove(slot=slot, by=request.user)
            messages.success(request, "Working hours removed.")
        else:
            off = TimeOff.objects.filter(user=person, pk=raw).first() if raw.isdigit() else None
            if off is None:
                raise Http404
            services.time_off_remove(off=off, site=site, by=request.user)
            messages.success(request, "Time off removed.")
        return redirect(page)
    now = timezone.now()
    time_off = list(TimeOff.objects.filter(user=person, ends_at__gt=now).order_by("starts_at"))
    if time_off:
        booked = list(
            TherapySession.objects.scheduled()
            .filter(facilitators=person)
            .between(time_off[0].starts_at, max(o.ends_at for o in time_off))
            .values_list("starts_at", "ends_at")
        )
        for off in time_off:
            off.booked = sum(1 for start, end in booked if start < off.ends_at and end > off.starts_at)
    for off in time_off:
        # Whole days were entered as dates: show them as dates, not as the midnight after.
        start, end = off.starts_at.astimezone(site.zone), off.ends_at.astimezone(site.zone)
        off.from_label = f"{start:%a %Y-%m-%d}" if start.time() == time.min else f"{start:%a %Y-%m-%d %H:%M}"
        off.until_label = (
            f"{end - timedelta(days=1):%a %Y-%m-%d}, end of day"
            if end.time() == time.min
            else f"{end:%a %Y-%m-%d %H:%M}"
        )
    return render(
        request,
        "scheduling/availability.html",
        {
            "site": site,
            "person": person,
            "own": own,
            "hours": StaffAvailability.objects.filter(user=person, site=site).order_by("weekday", "start_time"),
            "time_off": time_off,
            "hours_form": hours_form,
            "off_form": off_form,
            "staff": list(staff_at(site)) if can_manage else [],
        },
    )


@login_required
def my_availability(request: HttpRequest) -> HttpResponse:
    return _availability_page(request, site_for_request(request), request.user)


@login_required
def staff_availability(request: HttpRequest, public_id) -> HttpResponse:
    site = site_for_request(request)
    return _availability_page(request, site, _person_at(site, public_id))


# --- A patient's schedule ----------------------------------------------------------------------------


def _patient_week(request: HttpRequest, public_id):
    from patients.permissions import get_patient_for_user, patient_may

    patient = get_patient_for_user(request.user, public_id)
    site = patient.site
    if not patient_may(request.user, patient, "schedule.view"):  # the site's role, or a break-glass grant
        raise PermissionDenied
    monday = _week_from(request, site)
    start, end = _week_bounds(site, monday)
    sessions = patient_sessions(patient, start, end)
    for s in sessions:
        s.site = site
    days = []
    for i in range(7):
        d = monday + timedelta(days=i)
        days.append((d, [s for s in sessions if s.local_start().date() == d]))
    return patient, site, monday, days


@login_required
def patient_schedule(request: HttpRequest, public_id) -> HttpResponse:
    from patients.selectors import chart_header

    patient, site, monday, days = _patient_week(request, public_id)
    record(Action.VIEW, request=request, site=site, patient=patient, object_type="scheduling.patient_schedule")
    enrollments = Enrollment.objects.filter(episode__patient=patient).select_related("track").order_by("-start_date")
    return render(
        request,
        "scheduling/patient_schedule.html",
        {
            "site": site,
            "patient": patient,
            "chart": chart_header(patient),
            "enrollments": enrollments[:5],
            "monday": monday,
            "days": days,
            "prev_week": monday - timedelta(days=7),
            "next_week": monday + timedelta(days=7),
        },
    )


@login_required
def patient_schedule_print(request: HttpRequest, public_id) -> HttpResponse:
    """A printable week for the patient: their own sessions only, no other patient's name."""
    patient, site, monday, days = _patient_week(request, public_id)
    record(Action.PRINT, request=request, site=site, patient=patient, object_type="scheduling.patient_schedule")
    return render(
        request,
        "scheduling/patient_schedule_print.html",
        {"site": site, "patient": patient, "monday": monday, "days": days, "sunday": monday + timedelta(days=6)},
    )


# --- iCal feed ------------------------------------------------------------------------------------------


@login_required
def feed_settings(request: HttpRequest) -> HttpResponse:
    """Create (or replace) the signed-in clinician's secret calendar link; shown once."""
    if not request.clinic.memberships:
        raise Http404
    link = None
    if request.method == "POST":
        token = services.calendar_feed_reset(user=request.user, by=request.user)
        link = request.build_absolute_uri(reverse("scheduling:ical_feed", args=[token]))
    has_feed = CalendarFeed.objects.filter(user=request.user).exists()
    return render(request, "scheduling/feed_settings.html", {"link": link, "has_feed": has_feed})


def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The clinician's sessions as iCalendar. Anyone with the link can read it, so it carries
    times, rooms, session types and at most patients' initials: no names, nothing clinical."""
    feed = CalendarFeed.for_token(token)
    if feed is None or not feed.user.is_active:
        raise Http404
    response = HttpResponse(feed_for(feed.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="sessions.ics"'
    return response
