"""Report pages. The discharge page drafts the summary from every floor and signs it through
``plans.services.discharge_sign`` (which calls ``patients.services.episode_discharge``).

The caseload (a clinician's patients with what needs doing), the program dashboard (aggregates
only, for ``reports.view``) and the per-diem export (PHI, for ``billing.export``). Every CSV
download is audited as an export."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from audit.models import Action
from audit.services import record
from patients.models import site_today
from patients.permissions import get_patient_for_user
from patients.selectors import chart_header
from plans.forms import DischargeSignForm
from plans.services import discharge_sign
from users.forms import add_service_errors
from users.models import Role
from users.permissions import has_capability, sites_visible_to
from users.reauth import reauthenticate_redirect, recently_authenticated, refuse_on_form

from . import dashboard as measures
from .caseload import caseload as caseload_rows
from .caseload import has_flag, window_for
from .charts import bar_chart
from .discharge import discharge_summary_draft
from .exports import csv_response
from .forms import DEFAULT_DAYS, DashboardFilterForm, PerDiemForm
from .perdiem import COLUMNS as PER_DIEM_COLUMNS
from .perdiem import csv_rows, per_diem_lines, service_code


@login_required
def discharge(request: HttpRequest, public_id, episode_id) -> HttpResponse:
    """Choose the discharge type, edit the drafted summary, sign. Needs clinical.view to read
    and episode.discharge to sign (intake staff: 403; another site: 404)."""
    patient = get_patient_for_user(request.user, public_id, write=True, capability="clinical.view")
    episode = get_object_or_404(patient.episodes.select_related("site"), public_id=episode_id)
    may_sign = episode.is_open and has_capability(request.user, patient.site_id, "episode.discharge")
    today = site_today(patient.site)
    draft = discharge_summary_draft(episode, discharge_date=today)
    form = None
    reauth_url = ""
    if may_sign:
        form = DischargeSignForm(request.POST or None, initial={"discharge_date": today, "summary": draft["text"]})
        if request.method == "GET" and not recently_authenticated(request):
            # Confirm first, so the summary is written within the window (DOMAIN.md §12).
            return reauthenticate_redirect(request, request.path, "sign a discharge", "")
    if request.method == "POST":
        if not may_sign:
            raise PermissionDenied
        if not recently_authenticated(request):
            # No draft is kept for a discharge: the page comes back with the text as typed.
            reauth_url = refuse_on_form(request, form, request.path, "sign this discharge")
        elif form.is_valid():
            try:
                discharge_sign(episode=episode, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, "Discharge signed: the episode is closed and 30/60/90-day follow-ups are scheduled."
                )
                return redirect("plans:aftercare", public_id=patient.public_id)
    record(Action.VIEW, request=request, site=patient.site_id, patient=patient, obj=episode)
    return render(
        request,
        "reports/discharge.html",
        {
            "patient": patient,
            "chart": chart_header(patient),
            "episode": episode,
            "draft": draft,
            "form": form,
            "reauth_url": reauth_url,
        },
        status=403 if reauth_url else 200,
    )


# --- caseload ---------------------------------------------------------------------------------

CASELOAD_COLUMNS = [
    "MRN",
    "Patient",
    "Admitted",
    "Open safety alerts",
    "No-shows (recent)",
    "Hours last week",
    "Under minimum last week",
    "Hours this week",
    "Plan due",
    "Re-assessment due",
    "Unsigned notes",
]


@login_required
def caseload(request: HttpRequest) -> HttpResponse:
    """Open episodes of the signed-in clinician at the current site, flagged and most urgent
    first. Supervisors and directors may switch to the whole site (``?scope=site``). One query
    for the rows, however many patients."""
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, "clinical.view"):
        raise PermissionDenied
    may_see_site = has_capability(request.user, site, "reports.view")
    default = "site" if request.clinic.role == Role.DIRECTOR else "mine"
    scope = request.GET.get("scope", default)
    if scope != "site" or not may_see_site:
        scope = "mine"
    window = window_for(site, site_today(site), timezone.now())
    rows = list(caseload_rows(site, window, counselor=request.user if scope == "mine" else None))
    shown = sorted(str(e.patient.public_id) for e in rows)
    if request.GET.get("format") == "csv":
        if not recently_authenticated(request):
            return reauthenticate_redirect(request, request.get_full_path(), "download this list")
        record(
            Action.EXPORT,
            request=request,
            site=site,
            object_type="reports.Caseload",
            changes={"scope": scope, "patients": len(shown), "shown": shown},
        )
        return csv_response(
            f"caseload-{window.today:%Y-%m-%d}.csv",
            CASELOAD_COLUMNS,
            (
                [
                    e.patient.mrn,
                    e.patient.display_name,
                    e.admission_date.isoformat(),
                    e.safety,
                    e.no_shows,
                    round(e.hours_last_week, 2),
                    "yes" if e.under_last_week else "no",
                    round(e.hours_this_week, 2),
                    "yes" if e.plan_due else "no",
                    "yes" if e.reassess_due else "no",
                    e.unsigned,
                ]
                for e in rows
            ),
        )
    record(Action.VIEW, request=request, site=site, object_type="reports.Caseload", changes={"shown": shown})
    return render(
        request,
        "reports/caseload.html",
        {
            "rows": rows,
            "scope": scope,
            "may_see_site": may_see_site,
            "site": site,
            "window": window,
            # Counted from the rows already fetched, not by running the caseload query again.
            "flagged": sum(1 for e in rows if has_flag(e)),
            "no_show_days": (timezone.now() - window.no_show_since).days,
        },
    )


# --- program dashboard ----------------------------------------------------------------------------


def _report_sites(request: HttpRequest):
    sites = list(sites_visible_to(request.user, "reports.view").order_by("name"))
    if not sites:
        raise PermissionDenied
    return sites


def _charts(board: measures.Dashboard) -> dict:
    flow = board.flow.rows
    tox = board.toxicology.rows
    return {
        "flow": bar_chart(
            slug="flow",
            title="Admissions and discharges per week",
            categories=[f"Week of {r[0]}" for r in flow],
            series=[("Admissions", [r[1] for r in flow]), ("Discharges", [r[2] for r in flow])],
        ),
        "funnel": bar_chart(
            slug="funnel",
            title="Intake funnel: referrals reaching each stage",
            categories=[r[0] for r in board.funnel.rows],
            series=[("Referrals", [r[1] for r in board.funnel.rows])],
        ),
        "retention": bar_chart(
            slug="retention",
            title="Retention: % still engaged",
            categories=[f"Week {r[0]}" for r in board.retention.rows],
            series=[("% engaged", [r[3] for r in board.retention.rows])],
            suffix=" %",
            maximum=100,
        ),
        "discharges": bar_chart(
            slug="discharges",
            title="Discharges by type",
            categories=[r[0] for r in board.discharges.rows],
            series=[("Episodes", [r[2] for r in board.discharges.rows])],
        ),
        "toxicology": bar_chart(
            slug="toxicology",
            title="Unexpected positive specimens per week (%)",
            categories=[f"Week of {r[0]}" for r in tox],
            series=[("% unexpected positive", [r[3] for r in tox])],
            suffix=" %",
            maximum=100,
        ),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Program measures for the sites where the user holds ``reports.view`` (supervisors,
    directors, site admins): aggregates only, no patient is named. ``?format=csv&table=<slug>``
    downloads one table (audited)."""
    sites = _report_sites(request)
    current = request.clinic.site if request.clinic.site in sites else sites[0]
    today = site_today(current)
    form = DashboardFilterForm(request.GET or None, sites=sites, today=today)
    data = form.cleaned_data if request.GET and form.is_valid() else {}
    start = data.get("start") or today - timedelta(days=DEFAULT_DAYS - 1)
    end = data.get("end") or today
    site_ids = (data["site"],) if data.get("site") else tuple(s.pk for s in sites)
    filters = measures.Filters(
        site_ids=site_ids, start=start, end=end, today=today, now=timezone.now(), track_id=data.get("track")
    )
    board = measures.build(filters)
    if request.GET.get("format") == "csv":
        table = board.table(request.GET.get("table", ""))
        if table is None:
            raise Http404
        if not recently_authenticated(request):
            return reauthenticate_redirect(request, request.get_full_path(), "download this table")
        record(
            Action.EXPORT,
            request=request,
            site=current,
            object_type="reports.Dashboard",
            object_id=table.slug,
            changes={
                "table": table.slug,
                "sites": list(site_ids),
                "track": filters.track_id,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "rows": len(table.rows),
            },
        )
        return csv_response(f"{table.slug}-{start:%Y%m%d}-{end:%Y%m%d}.csv", table.columns, table.rows)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "board": board,
            "charts": _charts(board),
            "filters": filters,
            "query": query.urlencode(),
            "help": measures.HELP,
            "unsigned_hours": settings.NOTE_UNSIGNED_ALERT_HOURS,
        },
    )


# --- per-diem export ------------------------------------------------------------------------------


@login_required
def per_diem(request: HttpRequest) -> HttpResponse:
    """Billable IOP days for one site and a date range, as CSV (PHI: MRN and dates; no names).
    Needs ``reports.view`` and ``billing.export`` at that site and a recent sign-in; every
    download is audited with the number of patients, rows, the codes billed and the days over
    their authorization. Columns: ``reports.perdiem.COLUMNS`` (DOMAIN.md §10 documentation)."""
    sites = [s for s in _report_sites(request) if has_capability(request.user, s, "billing.export")]
    if not sites:
        raise PermissionDenied
    current = request.clinic.site if request.clinic.site in sites else sites[0]
    form = PerDiemForm(request.GET or None, sites=sites, today=site_today(current))
    if request.GET.get("format") == "csv" and form.is_valid():
        if not recently_authenticated(request):
            return reauthenticate_redirect(request, request.get_full_path(), "download the per-diem export")
        site = next((s for s in sites if s.pk == form.cleaned_data.get("site")), current)
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        lines = per_diem_lines(site.pk, start, end)
        patients = {line.patient_public_id for line in lines}
        code = service_code()
        record(
            Action.EXPORT,
            request=request,
            site=site,
            object_type="reports.PerDiem",
            changes={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "patients": len(patients),
                "rows": len(lines),
                "service_code": code,
                "service_codes": sorted({line.code for line in lines}),
                "over_authorized_units": sum(1 for line in lines if line.over_units),
            },
        )
        return csv_response(f"per-diem-{code}-{start:%Y%m%d}-{end:%Y%m%d}.csv", PER_DIEM_COLUMNS, csv_rows(lines))
    return render(
        request,
        "reports/per_diem.html",
        {
            "form": form,
            "minimum": settings.PER_DIEM_MIN_MINUTES,
            "code": service_code(),
            "columns": PER_DIEM_COLUMNS,
            "current": current,
        },
    )
