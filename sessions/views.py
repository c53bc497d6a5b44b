"""Roll-call, notes (editor, detail, addenda, signing), co-sign queue, weekly hours and follow-ups.

Every page that shows patient information records one audit event; the services audit writes.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from audit.models import Action
from audit.services import record
from patients.models import Patient, site_today
from patients.permissions import get_patient_for_user
from patients.selectors import chart_header
from scheduling.models import ONE_OFF_KINDS
from scheduling.selectors import rosters_for
from users.forms import add_service_errors
from users.permissions import has_capability, site_ids_for
from users.reauth import reauthenticate_redirect, recently_authenticated, refuse_on_form

from . import selectors, services
from .forms import (
    AddendumForm,
    ContactAttemptForm,
    CosignForm,
    GroupNoteEntryForm,
    GroupNoteForm,
    ProgressNoteForm,
    RollCallRowForm,
    chosen_objectives,
)
from .models import (
    ATTENDED,
    PARTIAL,
    Attendance,
    AttendanceStatus,
    ContactAttempt,
    GroupNote,
    GroupNoteEntry,
    NoteAddendum,
    NoteFormat,
    NoteStatus,
    ProgressNote,
)
from .permissions import (
    can_take_roll,
    get_attendance_for_user,
    get_group_note_for_user,
    get_progress_note_for_user,
    get_session_for_rollcall,
    group_notes_visible_to,
    progress_notes_visible_to,
    require_clinical,
    require_clinical_for_patient,
)

# Sessions booked for one patient get a progress note per patient, not a group note.
INDIVIDUAL_KINDS = ONE_OFF_KINDS


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _viewed(
    request, *, site, obj=None, patient=None, object_type: str = "", object_id: str = "", patients=None
) -> None:
    changes = {"patients": sorted(patients)} if patients else None
    record(
        Action.VIEW,
        request=request,
        site=site,
        patient=patient,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        changes=changes,
    )


# --- Roll-call -------------------------------------------------------------------------------------


class Row:
    """One roster line on the roll-call page: who, their form, the saved attendance (if any).

    The template reads each value many times per row (15 rows, 8 statuses): the form's values
    are read once per form, and the ids are strings, so nothing is looked up or localised twice.
    """

    def __init__(
        self, index: int, entry, form: RollCallRowForm, attendance: Attendance | None, length: int, url: str = ""
    ):
        self.index = index
        self.pos = str(index)
        self.key = form.prefix  # "r<index>": the prefix of the row's inputs
        self.url = url  # where the row posts a status change (htmx)
        self.entry = entry
        self.patient = entry.patient
        self.form = form
        self.attendance = attendance
        self.length = length
        self.errors: dict[str, str] = {}

    @property
    def form(self) -> RollCallRowForm:
        return self._form

    @form.setter
    def form(self, form: RollCallRowForm) -> None:
        self._form = form
        self._values: dict | None = None

    def _value(self, name: str):
        if self._values is None:
            self._values = {field: self._form[field].value() for field in ("status", "minutes", "late_cancel")}
        return self._values[name]

    @property
    def status(self) -> str:
        return self._value("status") or ""

    @property
    def minutes(self):
        value = self._value("minutes")
        return "" if value is None else str(value)

    @property
    def late_cancel(self) -> bool:
        return bool(self._value("late_cancel"))

    @property
    def is_partial(self) -> bool:
        return self.status in (AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY)

    @property
    def is_absent(self) -> bool:
        return bool(self.status) and self.status not in ATTENDED

    @property
    def status_inputs(self) -> str:
        """The segmented status radios, one ``<span>`` per status (written here rather than by
        a template loop: 15 rows × 8 statuses were most of the page's rendering time). Only the
        row's prefix varies from row to row; it is escaped once, and each status's value and
        label come escaped from ``_STATUS_RADIOS``."""
        key = escape(self.key)
        invalid = f' aria-invalid="true" aria-describedby="{key}-status-error"' if self.errors.get("status") else ""
        status = self.status
        return mark_safe(  # noqa: S308  # nosec B308 B703 - every part is escaped above or in _STATUS_RADIOS
            "\n".join(
                f'<span class="seg-item"><input type="radio" name="{key}-status" value="{value}" class="seg-input"'
                f' id="id_{key}-status_{n}"{" checked" if raw == status else ""}{invalid}>'
                f'<label for="id_{key}-status_{n}" class="seg-label status-{value}">{label}</label></span>'
                for n, raw, value, label in _STATUS_RADIOS
            )
        )


# (position, raw value, escaped value, escaped label) of each attendance status, in choice order.
_STATUS_RADIOS = [(n, value, escape(value), escape(label)) for n, (value, label) in enumerate(AttendanceStatus.choices)]


def _roll_rows(session, data=None) -> list[Row]:
    entries = rosters_for([session])[session.pk]
    saved = {a.patient_id: a for a in Attendance.objects.filter(session=session)}
    length = services.session_minutes(session)
    rows = []
    for index, entry in enumerate(entries):
        attendance = saved.get(entry.episode.patient_id)
        initial = {"patient": entry.patient.public_id}
        if attendance is not None:
            initial.update(
                status=attendance.status, minutes=attendance.minutes_attended, late_cancel=attendance.late_cancel
            )
        form = RollCallRowForm(data, prefix=f"r{index}", initial=initial)
        url = reverse("sessions:rollcall_row", args=[session.public_id, index])
        rows.append(Row(index, entry, form, attendance, length, url))
    return rows


def _row_input(row: Row) -> services.RowInput | None:
    if not row.form.is_valid():
        row.errors = {k: " ".join(v) for k, v in row.form.errors.items()}
        return None
    data = row.form.cleaned_data
    if data["patient"] != row.patient.public_id:
        row.errors = {"status": "The roster changed; reload the page."}
        return None
    return services.RowInput(
        patient=row.patient, status=data["status"], minutes=data["minutes"], late_cancel=data["late_cancel"]
    )


def _rollcall_context(request, session, rows, **extra) -> dict:
    notes = {}
    if has_capability(request.user, session.site_id, "clinical.view"):
        group_note = GroupNote.objects.filter(session=session).first()
        notes = {
            "group_note": group_note,
            "progress_notes": {
                n.patient_id: n
                for n in ProgressNote.objects.filter(session=session).only("public_id", "patient_id", "status")
            },
        }
        for row in rows:
            row.progress_note = notes["progress_notes"].get(row.patient.pk)
    return {
        "session": session,
        "site": session.site,
        "rows": rows,
        "length": services.session_minutes(session),
        "can_write": can_take_roll(request.user, session),
        "can_note": has_capability(request.user, session.site_id, "clinical.write"),
        "can_read_notes": has_capability(request.user, session.site_id, "clinical.view"),
        "is_individual": session.kind in INDIVIDUAL_KINDS,
        "recorded": any(r.attendance for r in rows),
        **notes,
        **extra,
    }


@login_required
def rollcall(request: HttpRequest, public_id) -> HttpResponse:
    """The roster with one-tap statuses and minutes; the whole roll saved in one POST."""
    write = request.method == "POST"
    session = get_session_for_rollcall(request.user, public_id, write=write)
    rows = _roll_rows(session, request.POST if write else None)
    status = 200
    if write:
        inputs = [(row, _row_input(row)) for row in rows]
        if all(i is not None for _, i in inputs):
            try:
                services.attendance_record_roster(session=session, rows=[i for _, i in inputs], by=request.user)
            except services.RosterErrors as exc:
                for index, errors in exc.row_errors.items():
                    rows[index].errors = errors
                messages.error(request, exc.messages[0])
                status = 400
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                status = 400
            else:
                messages.success(request, f"Roll saved for {len(rows)} people.")
                return redirect("sessions:rollcall", public_id=session.public_id)
        else:
            messages.error(request, "Some rows need attention; nothing was saved.")
            status = 400
    _viewed(
        request,
        site=session.site_id,
        object_type="clinical_sessions.rollcall",
        object_id=str(session.public_id),
        patients={str(r.patient.public_id) for r in rows},
    )
    return render(request, "sessions/rollcall.html", _rollcall_context(request, session, rows), status=status)


@login_required
@require_POST
def rollcall_row(request: HttpRequest, public_id, index: int) -> HttpResponse:
    """htmx: one row re-rendered after a status change (minutes defaulted, errors shown). Saves nothing."""
    session = get_session_for_rollcall(request.user, public_id, write=True)
    rows = _roll_rows(session, request.POST)
    if not 0 <= index < len(rows):
        raise Http404
    row = rows[index]
    row_input = _row_input(row)
    if row_input is not None:
        status, minutes, late_cancel, errors = services.attendance_row_clean(session, row_input)
        # A partial status just chosen (minutes empty, or still the full length from "present"):
        # the partial minutes are asked for, not yet an error.
        pending = status in PARTIAL and (row_input.minutes is None or row_input.minutes >= row.length)
        row.errors = {} if pending else errors
        if pending or not errors:
            data = request.POST.copy()
            data[f"r{index}-minutes"] = "" if pending else str(minutes)
            if not late_cancel:
                data.pop(f"r{index}-late_cancel", None)
            row.form = RollCallRowForm(data, prefix=f"r{index}", initial=row.form.initial)
            row.form.is_valid()
    _viewed(
        request,
        site=session.site_id,
        patient=row.patient,
        object_type="clinical_sessions.rollcall",
        object_id=str(session.public_id),
    )
    context = _rollcall_context(request, session, [row])
    context["row"] = row
    return render(request, "sessions/rollcall.html#row", context)


# --- Group notes -----------------------------------------------------------------------------------


@login_required
@require_POST
def group_note_open(request: HttpRequest, public_id) -> HttpResponse:
    session = get_session_for_rollcall(request.user, public_id, write=True)
    require_clinical(request.user, session.site_id, write=True)
    try:
        note = services.group_note_start(session=session, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sessions:rollcall", public_id=session.public_id)
    if note.is_signed:
        return redirect("sessions:group_note", public_id=note.public_id)
    return redirect("sessions:group_note_edit", public_id=note.public_id)


def _local(note, value: datetime):
    return timezone.localtime(value, note.site.zone)


def _linked_objectives(entries) -> dict[int, list[str]]:
    """Entry id → public ids of the objectives it links (one query for all entries)."""
    through = GroupNoteEntry.addressed_objectives.through
    out: dict[int, list[str]] = {}
    rows = through.objects.filter(groupnoteentry_id__in=[e.pk for e in entries]).values_list(
        "groupnoteentry_id", "objective__public_id"
    )
    for entry_id, public_id in rows:
        out.setdefault(entry_id, []).append(str(public_id))
    return out


def _entries(note: GroupNote):
    return list(
        note.entries.select_related("patient", "attendance").order_by(
            "patient__legal_last_name", "patient__legal_first_name", "id"
        )
    )


@login_required
def group_note_edit(request: HttpRequest, public_id) -> HttpResponse:
    """The draft editor: shared part, one part per attendee present, near-identical warning,
    save (optimistic locking) and sign."""
    note = get_group_note_for_user(request.user, public_id, write=True)
    if note.is_signed:
        messages.info(request, "This note is signed. Corrections are made by addendum.")
        return redirect("sessions:group_note", public_id=note.public_id)
    if request.method == "GET":
        services.group_note_start(session=note.session, by=request.user)  # brings the parts in step with the roll
        note.refresh_from_db()
    entries = _entries(note)
    data = request.POST if request.method == "POST" else None
    form = GroupNoteForm(
        data,
        staff=selectors.facilitator_choices(note.site),
        initial={
            "version": note.version,
            "topic": note.topic,
            "curriculum_module": note.curriculum_module,
            "facilitators": [u.pk for u in note.facilitators.all()],
            "start_time": _local(note, note.starts_at).time(),
            "end_time": _local(note, note.ends_at).time(),
            "interventions": note.interventions,
        },
    )
    objectives = selectors.objectives_for_episodes({e.attendance.episode_id for e in entries})
    linked = _linked_objectives(entries)
    entry_forms = [
        (
            e,
            GroupNoteEntryForm(
                data,
                prefix=f"e-{e.public_id}",
                initial={
                    **{f: getattr(e, f) for f in ("participation", "response", "progress", "risk_observations")},
                    "objectives": linked.get(e.pk, []),
                },
                objectives=objectives.get(e.attendance.episode_id, []),
            ),
        )
        for e in entries
    ]
    status = 200
    signing = request.method == "POST" and request.POST.get("action") == "sign"
    # Without a recent sign-in the draft is saved but not signed (DOMAIN.md §12).
    sign_now = signing and recently_authenticated(request)
    if request.method == "POST":
        if form.is_valid() and all(f.is_valid() for _, f in entry_forms):
            day = _local(note, note.starts_at).date()
            zone = note.site.zone
            try:
                note = services.group_note_update(
                    note=note,
                    by=request.user,
                    version=form.cleaned_data["version"],
                    shared={
                        "topic": form.cleaned_data["topic"],
                        "curriculum_module": form.cleaned_data["curriculum_module"],
                        "interventions": form.cleaned_data["interventions"],
                        "starts_at": datetime.combine(day, form.cleaned_data["start_time"], tzinfo=zone),
                        "ends_at": datetime.combine(day, form.cleaned_data["end_time"], tzinfo=zone),
                    },
                    entries={str(e.public_id): f.values() for e, f in entry_forms},
                    facilitators=form.chosen_facilitators(),
                )
                if sign_now:
                    services.note_sign(note=note, by=request.user, version=note.version)
            except ValidationError as exc:
                add_service_errors(form, exc)
                status = 409 if getattr(exc, "code", "") == "conflict" else 400
                if status == 409:
                    form.add_error(
                        None,
                        "Your edits are still in the boxes below so you can copy them; the saved note was not changed.",
                    )
                else:
                    note.refresh_from_db()
                    # A successful save before a refused signature bumped the version.
                    form.data = form.data.copy()
                    form.data["version"] = str(note.version)
            else:
                if signing and not sign_now:
                    return reauthenticate_redirect(
                        request,
                        reverse("sessions:group_note_edit", args=[note.public_id]),
                        "sign this note",
                        "Your draft was saved; it is not signed yet.",
                    )
                if signing:
                    messages.success(request, "Group note signed and locked.")
                    return redirect("sessions:group_note", public_id=note.public_id)
                messages.success(request, "Draft saved.")
                return redirect("sessions:group_note_edit", public_id=note.public_id)
        else:
            status = 400
    similar = selectors.near_identical_entries(entries)
    _viewed(
        request,
        site=note.site_id,
        obj=note,
        patients={str(e.patient.public_id) for e in entries},
    )
    return render(
        request,
        "sessions/group_note_edit.html",
        {
            "note": note,
            "session": note.session,
            "form": form,
            "entry_forms": entry_forms,
            "similar": similar,
            "problems": services.group_note_problems(note),
        },
        status=status,
    )


def _note_page_context(request, note, addenda, **extra) -> dict:
    return {
        "note": note,
        "session": note.session,
        "addenda": addenda,
        "cosignature": getattr(note, "cosignature", None) if note.is_signed else None,
        "hash_ok": note.hash_verifies() if note.is_signed else None,
        "can_write": has_capability(request.user, note.site_id, "clinical.write"),
        "can_cosign": (
            note.is_signed
            and note.requires_cosign
            and has_capability(request.user, note.site_id, "note.cosign")
            and note.author_id != request.user.pk
        ),
        "cosign_form": CosignForm(),
        **extra,
    }


@login_required
def group_note_detail(request: HttpRequest, public_id) -> HttpResponse:
    """The whole group note (every attendee's part): for the site's clinical staff only."""
    note = get_group_note_for_user(request.user, public_id)
    entries = _entries(note)
    addenda = list(NoteAddendum.objects.filter(group_note=note).select_related("entry__patient"))
    form = AddendumForm(entries=GroupNoteEntry.objects.filter(group_note=note).select_related("patient"))
    reauth_url = ""
    if request.method == "POST":
        require_clinical(request.user, note.site_id, write=True)
        form = AddendumForm(
            request.POST, entries=GroupNoteEntry.objects.filter(group_note=note).select_related("patient")
        )
        if not recently_authenticated(request):
            reauth_url = refuse_on_form(request, form, request.path, "sign this addendum")
        elif form.is_valid():
            try:
                services.note_add_addendum(note=note, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Addendum signed and added.")
                return redirect("sessions:group_note", public_id=note.public_id)
    _viewed(request, site=note.site_id, obj=note, patients={str(e.patient.public_id) for e in entries})
    return render(
        request,
        "sessions/group_note_detail.html",
        _note_page_context(request, note, addenda, entries=entries, addendum_form=form, reauth_url=reauth_url),
        status=(403 if reauth_url else 400) if request.method == "POST" else 200,
    )


# --- Individual progress notes -------------------------------------------------------------------------


@login_required
@require_POST
def progress_note_new(request: HttpRequest, public_id, patient_id) -> HttpResponse:
    session = get_session_for_rollcall(request.user, public_id, write=True)
    require_clinical(request.user, session.site_id, write=True)
    patient = Patient.objects.filter(public_id=patient_id, site=session.site).first()
    if patient is None:
        raise Http404
    existing = ProgressNote.objects.filter(
        session=session, patient=patient, author=request.user, status=NoteStatus.DRAFT
    ).first()
    if existing is not None:
        return redirect("sessions:progress_note_edit", public_id=existing.public_id)
    try:
        note = services.progress_note_create(
            session=session, patient=patient, by=request.user, format=request.POST.get("format") or NoteFormat.SOAP
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("sessions:rollcall", public_id=session.public_id)
    return redirect("sessions:progress_note_edit", public_id=note.public_id)


def _on_section_fields(exc: ValidationError) -> ValidationError:
    """Signing names missing sections by key (``plan``); the form calls them ``section_plan``."""
    if not hasattr(exc, "error_dict"):
        return exc
    keys = {"format", "sections", "version", "objectives"}
    return ValidationError({(k if k in keys else f"section_{k}"): v for k, v in exc.error_dict.items()})


@login_required
def progress_note_edit(request: HttpRequest, public_id) -> HttpResponse:
    note = get_progress_note_for_user(request.user, public_id, write=True)
    if note.is_signed:
        messages.info(request, "This note is signed. Corrections are made by addendum.")
        return redirect("sessions:progress_note", public_id=note.public_id)
    if note.author_id != request.user.pk:
        raise PermissionDenied
    chosen = request.POST.get("format") if request.method == "POST" else note.format
    if chosen not in NoteFormat.values:
        chosen = note.format
    initial = {"version": note.version, "format": note.format}
    initial.update({f"section_{k}": v for k, v in (note.sections or {}).items()})
    initial["objectives"] = [str(o.public_id) for o in note.addressed_objectives.all()]
    objectives = selectors.objectives_for_episodes([note.episode_id])[note.episode_id]
    form = ProgressNoteForm(request.POST or None, note_format=chosen, initial=initial, objectives=objectives)
    status = 200
    signing = request.method == "POST" and request.POST.get("action") == "sign"
    # Without a recent sign-in the draft is saved but not signed (DOMAIN.md §12).
    sign_now = signing and recently_authenticated(request)
    if request.method == "POST":
        if form.is_valid():
            try:
                note = services.progress_note_update(
                    note=note,
                    by=request.user,
                    version=form.cleaned_data["version"],
                    format=form.cleaned_data["format"],
                    sections=form.sections(),
                    objectives=chosen_objectives(form),
                )
                if sign_now:
                    services.note_sign(note=note, by=request.user, version=note.version)
            except ValidationError as exc:
                add_service_errors(form, _on_section_fields(exc))
                status = 409 if getattr(exc, "code", "") == "conflict" else 400
                if status == 400:
                    # A save that went through before a refused signature bumped the version.
                    note.refresh_from_db()
                    form.data = form.data.copy()
                    form.data["version"] = str(note.version)
            else:
                if signing and not sign_now:
                    return reauthenticate_redirect(
                        request,
                        reverse("sessions:progress_note_edit", args=[note.public_id]),
                        "sign this note",
                        "Your draft was saved; it is not signed yet.",
                    )
                if signing:
                    messages.success(request, "Progress note signed and locked.")
                    return redirect("sessions:progress_note", public_id=note.public_id)
                messages.success(request, "Draft saved.")
                return redirect("sessions:progress_note_edit", public_id=note.public_id)
        else:
            status = 400
    _viewed(request, site=note.site_id, obj=note, patient=note.patient)
    return render(
        request,
        "sessions/progress_note_edit.html",
        {"note": note, "session": note.session, "form": form, "patient": note.patient},
        status=status,
    )


@login_required
def progress_note_detail(request: HttpRequest, public_id) -> HttpResponse:
    note = get_progress_note_for_user(request.user, public_id)
    addenda = list(note.addenda.all())
    form = AddendumForm()
    reauth_url = ""
    if request.method == "POST":
        require_clinical(request.user, note.site_id, write=True)
        form = AddendumForm(request.POST)
        if not recently_authenticated(request):
            reauth_url = refuse_on_form(request, form, request.path, "sign this addendum")
        elif form.is_valid():
            try:
                services.note_add_addendum(note=note, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Addendum signed and added.")
                return redirect("sessions:progress_note", public_id=note.public_id)
    _viewed(request, site=note.site_id, obj=note, patient=note.patient)
    return render(
        request,
        "sessions/progress_note_detail.html",
        _note_page_context(request, note, addenda, addendum_form=form, patient=note.patient, reauth_url=reauth_url),
        status=(403 if reauth_url else 400) if request.method == "POST" else 200,
    )


# --- Co-signature ---------------------------------------------------------------------------------------


@login_required
def cosign_queue(request: HttpRequest) -> HttpResponse:
    sites = site_ids_for(request.user, "note.cosign")
    if not sites:
        raise PermissionDenied
    progress = list(
        ProgressNote.objects.awaiting_cosign()
        .filter(site_id__in=sites)
        .exclude(author=request.user)
        .select_related("patient", "session", "site")
        .order_by("signed_at")
    )
    groups = list(
        GroupNote.objects.awaiting_cosign()
        .filter(site_id__in=sites)
        .exclude(author=request.user)
        .select_related("session", "site")
        .order_by("signed_at")
    )
    _viewed(
        request,
        site=request.clinic.site,
        object_type="clinical_sessions.cosign_queue",
        patients={str(n.patient.public_id) for n in progress},
    )
    return render(request, "sessions/cosign_queue.html", {"progress": progress, "groups": groups})


@login_required
@require_POST
def cosign(request: HttpRequest, kind: str, public_id) -> HttpResponse:
    if kind == "progress":
        note = get_progress_note_for_user(request.user, public_id)
        target = "sessions:progress_note"
    elif kind == "group":
        note = get_group_note_for_user(request.user, public_id)
        target = "sessions:group_note"
    else:
        raise Http404
    if not has_capability(request.user, note.site_id, "note.cosign"):
        raise PermissionDenied
    if not recently_authenticated(request):
        back = (
            reverse("sessions:cosign_queue")
            if request.POST.get("next") == "queue"
            else reverse(target, args=[note.public_id])
        )
        return reauthenticate_redirect(request, back, "co-sign this note", "Nothing was co-signed.")
    form = CosignForm(request.POST)
    form.is_valid()
    try:
        services.note_cosign(note=note, by=request.user, comment=form.cleaned_data.get("comment", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Co-signed.")
    if request.POST.get("next") == "queue":
        return redirect("sessions:cosign_queue")
    return redirect(target, public_id=note.public_id)


# --- Patient pages: notes, hours, follow-up -------------------------------------------------------------


def _clinical_patient(request, public_id) -> Patient:
    patient = get_patient_for_user(request.user, public_id)
    require_clinical_for_patient(request.user, patient)
    return patient


@login_required
def patient_notes(request: HttpRequest, public_id) -> HttpResponse:
    """A patient's notes: their individual notes and their chart copies of group notes."""
    patient = _clinical_patient(request, public_id)
    progress = list(
        ProgressNote.objects.filter(patient=patient).select_related("session", "author").order_by("-session__starts_at")
    )
    groups = list(
        GroupNote.objects.filter(entries__patient=patient).select_related("session", "author").order_by("-starts_at")
    )
    _viewed(request, site=patient.site_id, patient=patient, object_type="clinical_sessions.patient_notes")
    return render(
        request,
        "sessions/patient_notes.html",
        {"patient": patient, "chart": chart_header(patient), "progress": progress, "groups": groups},
    )


@login_required
def patient_group_note(request: HttpRequest, public_id, note_id) -> HttpResponse:
    """The chart copy: the shared part and this patient's own part, nothing of anyone else."""
    patient = _clinical_patient(request, public_id)
    note = (
        GroupNote.objects.filter(public_id=note_id, entries__patient=patient).select_related("session", "site").first()
    )
    if note is None:
        raise Http404
    copy = selectors.group_note_chart_copy(note, patient)
    _viewed(request, site=patient.site_id, patient=patient, obj=note)
    return render(
        request, "sessions/patient_group_note.html", {"patient": patient, "chart": chart_header(patient), "copy": copy}
    )


@login_required
def patient_hours(request: HttpRequest, public_id) -> HttpResponse:
    """Weekly IOP hours: attended clinical minutes per ISO week in the site's zone, with the
    level's threshold, flags and per-diem days."""
    patient = _clinical_patient(request, public_id)
    today = site_today(patient.site)
    try:
        count = max(1, min(26, int(request.GET.get("weeks", 8))))
    except ValueError:
        count = 8
    weeks = selectors.patient_weeks_window(today, count)
    found = {(w.iso_year, w.week): w for w in selectors.weekly_hours([patient.pk], weeks).get(patient.pk, [])}
    rows = [
        found.get(w) or selectors.PatientWeek(patient_id=patient.pk, iso_year=w[0], week=w[1]) for w in reversed(weeks)
    ]
    _viewed(request, site=patient.site_id, patient=patient, object_type="clinical_sessions.patient_hours")
    from django.conf import settings

    return render(
        request,
        "sessions/patient_hours.html",
        {
            "patient": patient,
            "chart": chart_header(patient),
            "rows": rows,
            "per_diem_minimum": settings.PER_DIEM_MIN_MINUTES,
            "count": count,
        },
    )


FOLLOWUP_TITLES = list(services.ALERT_TITLES)


@login_required
def followups(request: HttpRequest) -> HttpResponse:
    """Open missed-session follow-ups at the current site: outreach tasks, clinician reviews and
    administrative-discharge review proposals (a clinician decides; nothing is automatic)."""
    from notifications.models import Alert, AlertKind

    site = request.clinic.site
    if site is None:
        raise Http404
    require_clinical(request.user, site)
    mine = request.GET.get("mine") == "1"
    alerts = Alert.objects.open().filter(site=site, kind=AlertKind.NO_SHOW).select_related("patient").by_urgency()
    if mine:
        alerts = alerts.filter(recipients=request.user)
    alerts = list(alerts[:200])
    _viewed(
        request,
        site=site,
        object_type="clinical_sessions.followups",
        patients={str(a.patient.public_id) for a in alerts if a.patient_id},
    )
    return render(request, "sessions/followups.html", {"alerts": alerts, "site": site, "mine": mine})


@login_required
def patient_followup(request: HttpRequest, public_id) -> HttpResponse:
    """A patient's recent attendance, open follow-ups and contact notes, with the outreach form."""
    from notifications.models import Alert, AlertKind

    patient = _clinical_patient(request, public_id)
    zone = patient.site.zone
    form = ContactAttemptForm(request.POST or None, zone=zone)
    missed = list(
        Attendance.objects.filter(patient=patient)
        .exclude(status__in=list(ATTENDED))
        .select_related("session")
        .order_by("-session__starts_at")[:10]
    )
    if request.method == "POST":
        require_clinical(request.user, patient.site_id, write=True)
        if form.is_valid():
            attendance = None
            wanted = request.POST.get("attendance")
            if wanted:
                attendance = next((a for a in missed if str(a.public_id) == wanted), None)
            try:
                services.contact_attempt_record(
                    patient=patient, by=request.user, attendance=attendance, **form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Contact note saved.")
                return redirect("sessions:patient_followup", public_id=patient.public_id)
    attempts = list(ContactAttempt.objects.filter(patient=patient).select_related("recorded_by")[:20])
    alerts = list(Alert.objects.filter(patient=patient, kind=AlertKind.NO_SHOW).by_urgency()[:20])
    recent = list(
        Attendance.objects.filter(patient=patient).select_related("session").order_by("-session__starts_at")[:15]
    )
    _viewed(request, site=patient.site_id, patient=patient, object_type="clinical_sessions.patient_followup")
    return render(
        request,
        "sessions/patient_followup.html",
        {
            "patient": patient,
            "chart": chart_header(patient),
            "form": form,
            "missed": missed,
            "attempts": attempts,
            "alerts": alerts,
            "recent": recent,
            "can_write": has_capability(request.user, patient.site_id, "clinical.write"),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def attendance_followup(request: HttpRequest, public_id) -> HttpResponse:
    """Where a no-show alert points: the patient's follow-up page."""
    attendance = get_attendance_for_user(request.user, public_id)
    return redirect("sessions:patient_followup", public_id=attendance.patient.public_id)


@login_required
def my_notes(request: HttpRequest) -> HttpResponse:
    """The signed-in clinician's drafts (unsigned notes are the first thing to finish)."""
    sites = site_ids_for(request.user, "clinical.write")
    if not sites:
        raise PermissionDenied
    progress = list(
        progress_notes_visible_to(request.user)
        .filter(author=request.user, status=NoteStatus.DRAFT)
        .select_related("patient", "session")
    )
    groups = list(
        group_notes_visible_to(request.user)
        .filter(author=request.user, status=NoteStatus.DRAFT)
        .select_related("session")
    )
    _viewed(
        request,
        site=request.clinic.site,
        object_type="clinical_sessions.my_drafts",
        patients={str(n.patient.public_id) for n in progress},
    )
    return render(request, "sessions/my_notes.html", {"progress": progress, "groups": groups})


@login_required
def clinical_settings(request: HttpRequest) -> HttpResponse:
    """A supervisor's settings for the current site: the missed-session follow-up thresholds
    and which staff members' notes need co-signature. Others may read them, not change them."""
    from users.models import Membership, Role

    from .forms import CosignRequirementForm, FollowUpPolicyForm
    from .models import CosignRequirement, FollowUpPolicy

    site = request.clinic.site
    if site is None:
        raise Http404
    require_clinical(request.user, site)
    may_change = has_capability(request.user, site, "note.cosign")
    policy = FollowUpPolicy.objects.filter(site=site).first() or FollowUpPolicy(site=site)
    clinicians = (
        Membership.objects.active()
        .filter(site=site, role__in=[Role.CLINICIAN, Role.SUPERVISOR])
        .values_list("user_id", flat=True)
    )
    staff = request.user.__class__.objects.filter(pk__in=clinicians).order_by("full_name", "email")
    policy_form = FollowUpPolicyForm(instance=policy, prefix="policy")
    cosign_form = CosignRequirementForm(staff=staff, prefix="cosign")
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if "policy-save" in request.POST:
            policy_form = FollowUpPolicyForm(request.POST, instance=policy, prefix="policy")
            if policy_form.is_valid():
                try:
                    services.followup_policy_set(site=site, by=request.user, **policy_form.cleaned_data)
                except ValidationError as exc:
                    add_service_errors(policy_form, exc)
                else:
                    messages.success(request, "Follow-up thresholds saved.")
                    return redirect("sessions:clinical_settings")
        else:
            cosign_form = CosignRequirementForm(request.POST, staff=staff, prefix="cosign")
            if cosign_form.is_valid():
                data = cosign_form.cleaned_data
                try:
                    services.cosign_requirement_set(
                        user=data["user"], site=site, required=data["required"], reason=data["reason"], by=request.user
                    )
                except ValidationError as exc:
                    add_service_errors(cosign_form, exc)
                else:
                    messages.success(request, f"Co-signature setting saved for {data['user']}.")
                    return redirect("sessions:clinical_settings")
    requirements = CosignRequirement.objects.filter(site=site, is_active=True).select_related("user", "set_by")
    return render(
        request,
        "sessions/clinical_settings.html",
        {
            "site": site,
            "may_change": may_change,
            "policy_form": policy_form,
            "cosign_form": cosign_form,
            "requirements": requirements,
        },
    )
