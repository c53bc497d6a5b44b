"""Plan pages: treatment plans, relapse-prevention plans (and their printable patient copy),
review requests and relapses, recovery activities, aftercare, "Plans due" and "Follow-ups".

Every view starts with one fetch-and-check: ``get_patient_for_user`` (404 for a patient at
another site) with the clinical capability the page needs (403 otherwise: intake staff read
no plans). Each response showing a patient's information records one audit event; writes
are audited by the services, with before/after. Forms that fail re-render the page with the
message on the field and nothing saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.models import Action
from audit.services import record
from patients.models import Patient, site_today
from patients.permissions import get_patient_for_user
from patients.selectors import chart_header
from patients.services import support_contact_contact_problem
from users.forms import add_service_errors
from users.models import Role
from users.permissions import has_capability
from users.reauth import reauthenticate_redirect, recently_authenticated

from . import services
from .forms import (
    AftercareForm,
    AftercareReferralForm,
    FollowUpForm,
    GoalForm,
    InterventionForm,
    ObjectiveForm,
    ProblemForm,
    RecoveryActivityForm,
    RelapseForm,
    RelapsePreventionPlanForm,
    ReviewRequestForm,
    RPContactForm,
    RPStrategyForm,
    RPTriggerForm,
    SignForm,
    TreatmentPlanForm,
)
from .models import (
    AftercarePlan,
    FollowUpCheckIn,
    Goal,
    Intervention,
    Objective,
    PlanStatus,
    Problem,
    RelapsePreventionPlan,
    RPCopingStrategy,
    RPTrigger,
    TreatmentPlan,
)
from .selectors import current_episode, follow_ups_due, plans_due

PART_MODELS = {
    "problem": Problem,
    "goal": Goal,
    "objective": Objective,
    "intervention": Intervention,
    "trigger": RPTrigger,
    "strategy": RPCopingStrategy,
}


def _patient(request: HttpRequest, public_id, *, write: bool = False) -> Patient:
    """The visible patient (404 otherwise), and 403 without clinical.view (clinical.write to write)."""
    return get_patient_for_user(
        request.user, public_id, write=True, capability="clinical.write" if write else "clinical.view"
    )


def _viewed(request: HttpRequest, patient: Patient, *, obj=None, object_type: str = "", action=Action.VIEW) -> None:
    record(action, request=request, site=patient.site_id, patient=patient, obj=obj, object_type=object_type)


def _may(user, patient: Patient) -> dict[str, bool]:
    return {
        "write": has_capability(user, patient.site_id, "clinical.write"),
        "cosign": has_capability(user, patient.site_id, "note.cosign"),
        "discharge": has_capability(user, patient.site_id, "episode.discharge"),
        "readmit": has_capability(user, patient.site_id, "intake.manage"),
    }


def _context(request: HttpRequest, patient: Patient, **extra) -> dict:
    return {"patient": patient, "chart": chart_header(patient), "may": _may(request.user, patient), **extra}


def _episode(patient: Patient):
    episode = current_episode(patient)
    if episode is None:
        raise Http404("No episode of care")
    return episode


# --- overview ------------------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id)
    episode = current_episode(patient)
    context = _context(request, patient, episode=episode)
    if episode is not None:
        context.update(
            treatment_plans=list(episode.treatment_plans.select_related("created_by").order_by("-version")),
            rp_plans=list(episode.relapse_prevention_plans.order_by("-version")),
            triggers=list(episode.plan_review_triggers.select_related("requested_by")),
            relapses=list(episode.relapses.all()),
            due=[
                r
                for r in plans_due([patient.site_id], site_today(patient.site), horizon_days=7)
                if r.episode.pk == episode.pk
            ],
            review_form=ReviewRequestForm(),
            relapse_form=RelapseForm(),
        )
    context["other_episodes"] = list(
        patient.episodes.exclude(pk=getattr(episode, "pk", None))
        .prefetch_related("treatment_plans")
        .order_by("-admission_date")
    )
    _viewed(request, patient, object_type="plans.TreatmentPlan")
    return render(request, "plans/overview.html", context)


@login_required
@require_POST
def review_request(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    episode = _episode(patient)
    form = ReviewRequestForm(request.POST)
    if form.is_valid():
        try:
            services.plan_review_request(episode=episode, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Review requested: both plans are due for review now.")
            return redirect("plans:overview", public_id=patient.public_id)
    return _overview_with(request, patient, review_form=form)


@login_required
@require_POST
def relapse(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    episode = _episode(patient)
    form = RelapseForm(request.POST)
    if form.is_valid():
        try:
            services.relapse_record(episode=episode, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Relapse recorded: both plans are due for review.")
            return redirect("plans:overview", public_id=patient.public_id)
    return _overview_with(request, patient, relapse_form=form)


def _overview_with(request, patient, **forms) -> HttpResponse:
    episode = current_episode(patient)
    context = _context(
        request,
        patient,
        episode=episode,
        treatment_plans=list(episode.treatment_plans.order_by("-version")),
        rp_plans=list(episode.relapse_prevention_plans.order_by("-version")),
        triggers=list(episode.plan_review_triggers.select_related("requested_by")),
        relapses=list(episode.relapses.all()),
        due=[],
        review_form=forms.get("review_form") or ReviewRequestForm(),
        relapse_form=forms.get("relapse_form") or RelapseForm(),
        other_episodes=[],
    )
    _viewed(request, patient, object_type="plans.TreatmentPlan")
    return render(request, "plans/overview.html", context)


# --- treatment plan ---------------------------------------------------------------------------------


def _treatment_plan(patient: Patient, plan_id) -> TreatmentPlan:
    return get_object_or_404(
        TreatmentPlan.objects.select_related(
            "episode", "created_by", "clinician_signed_by", "supervisor_signed_by"
        ).filter(episode__patient=patient),
        public_id=plan_id,
    )


@login_required
@require_POST
def treatment_plan_start(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    episode = _episode(patient)
    try:
        plan = services.treatment_plan_start(episode=episode, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("plans:overview", public_id=patient.public_id)
    messages.success(request, f"Version {plan.version} started as a draft.")
    return redirect("plans:treatment_plan", public_id=patient.public_id, plan_id=plan.public_id)


def _tp_page(request, patient, plan, status=200, **forms) -> HttpResponse:
    problems = list(
        plan.problems.prefetch_related("goals__objectives__interventions__responsible").order_by("position", "id")
    )
    may = _may(request.user, patient)
    editable = plan.is_draft and may["write"]
    context = _context(
        request,
        patient,
        plan=plan,
        problems=problems,
        editable=editable,
        versions=list(plan.episode.treatment_plans.order_by("-version").only("public_id", "version", "status")),
        incomplete=services.treatment_plan_problems(plan) if plan.is_draft else [],
    )
    if editable:
        bound = {f.prefix: f for f in forms.values() if getattr(f, "prefix", None)}
        for problem in problems:
            problem.goal_form = bound.get(f"g{problem.pk}") or GoalForm(prefix=f"g{problem.pk}")
            for goal in problem.goals.all():
                goal.objective_form = bound.get(f"o{goal.pk}") or ObjectiveForm(prefix=f"o{goal.pk}")
                for objective in goal.objectives.all():
                    objective.intervention_form = bound.get(f"i{objective.pk}") or InterventionForm(
                        site=patient.site, prefix=f"i{objective.pk}"
                    )
        context.update(
            plan_form=forms.get("plan_form") or TreatmentPlanForm(instance=plan),
            problem_form=forms.get("problem_form") or ProblemForm(prefix="problem"),
            sign_form=forms.get("sign_form") or SignForm(prefix="sign"),
        )
    _viewed(request, patient, obj=plan)
    return render(request, "plans/treatment_plan.html", context, status=status)


@login_required
def treatment_plan(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id)
    return _tp_page(request, patient, _treatment_plan(patient, plan_id))


def _tp_url(public_id, plan_id) -> str:
    return reverse("plans:treatment_plan", args=[public_id, plan_id])


@login_required
@require_POST
def treatment_plan_edit(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    form = TreatmentPlanForm(request.POST, instance=TreatmentPlan.objects.get(pk=plan.pk))
    if form.is_valid():
        try:
            services.treatment_plan_update(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Plan details saved.")
            return redirect(_tp_url(public_id, plan_id))
    return _tp_page(request, patient, plan, plan_form=form)


@login_required
@require_POST
def problem_add(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    form = ProblemForm(request.POST, prefix="problem")
    if form.is_valid():
        try:
            services.problem_add(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Problem added.")
            return redirect(_tp_url(public_id, plan_id))
    return _tp_page(request, patient, plan, problem_form=form)


@login_required
@require_POST
def goal_add(request: HttpRequest, public_id, plan_id, problem_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    problem = get_object_or_404(plan.problems, public_id=problem_id)
    form = GoalForm(request.POST, prefix=f"g{problem.pk}")
    if form.is_valid():
        try:
            services.goal_add(problem=problem, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Goal added.")
            return redirect(_tp_url(public_id, plan_id))
    return _tp_page(request, patient, plan, goal_form=form)


@login_required
@require_POST
def objective_add(request: HttpRequest, public_id, plan_id, goal_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    goal = get_object_or_404(plan.goals, public_id=goal_id)
    form = ObjectiveForm(request.POST, prefix=f"o{goal.pk}")
    if form.is_valid():
        try:
            services.objective_add(goal=goal, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Objective added.")
            return redirect(_tp_url(public_id, plan_id))
    return _tp_page(request, patient, plan, objective_form=form)


@login_required
def objective_edit(request: HttpRequest, public_id, plan_id, objective_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    objective = get_object_or_404(plan.objectives.select_related("goal"), public_id=objective_id)
    initial = {"statement": objective.statement, "target_date": objective.target_date, "status": objective.status}
    form = ObjectiveForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_update(objective=objective, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Objective updated.")
            return redirect(_tp_url(public_id, plan_id))
    _viewed(request, patient, obj=plan)
    return render(
        request, "plans/objective_edit.html", _context(request, patient, plan=plan, objective=objective, form=form)
    )


@login_required
@require_POST
def intervention_add(request: HttpRequest, public_id, plan_id, objective_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    objective = get_object_or_404(plan.objectives, public_id=objective_id)
    form = InterventionForm(request.POST, site=patient.site, prefix=f"i{objective.pk}")
    if form.is_valid():
        try:
            services.intervention_add(objective=objective, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Intervention added.")
            return redirect(_tp_url(public_id, plan_id))
    return _tp_page(request, patient, plan, intervention_form=form)


@login_required
@require_POST
def part_remove(request: HttpRequest, public_id, plan_id, kind, part_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    model = PART_MODELS.get(kind)
    if model is None:
        raise Http404
    part = get_object_or_404(model.objects.select_related("plan__episode"), public_id=part_id, plan__public_id=plan_id)
    if part.plan.episode.patient_id != patient.pk:
        raise Http404
    try:
        services.plan_part_remove(part=part, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Removed from the draft.")
    if isinstance(part.plan, RelapsePreventionPlan):
        return redirect("plans:rp_plan", public_id=patient.public_id, plan_id=part.plan.public_id)
    return redirect(_tp_url(public_id, plan_id))


@login_required
@require_POST
def treatment_plan_sign(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _treatment_plan(patient, plan_id)
    if not recently_authenticated(request):
        return reauthenticate_redirect(request, _tp_url(public_id, plan_id), "sign this plan", "Nothing was signed.")
    form = SignForm(request.POST, prefix="sign")
    if form.is_valid():
        try:
            plan = services.treatment_plan_sign(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if plan.status == PlanStatus.AWAITING_COSIGN:
                messages.success(request, "Signed. The plan is locked and waits for a supervisor's signature.")
            else:
                messages.success(request, f"Signed: version {plan.version} is now the plan in effect.")
            return redirect(_tp_url(public_id, plan_id))
    return _tp_page(request, patient, plan, sign_form=form)


@login_required
@require_POST
def treatment_plan_cosign(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    if not has_capability(request.user, patient.site_id, "note.cosign"):
        raise PermissionDenied
    plan = _treatment_plan(patient, plan_id)
    if not recently_authenticated(request):
        return reauthenticate_redirect(
            request, _tp_url(public_id, plan_id), "co-sign this plan", "Nothing was co-signed."
        )
    try:
        services.treatment_plan_cosign(plan=plan, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Co-signed: version {plan.version} is now the plan in effect.")
    return redirect(_tp_url(public_id, plan_id))


# --- relapse-prevention plan -------------------------------------------------------------------------


def _rp_plan(patient: Patient, plan_id) -> RelapsePreventionPlan:
    return get_object_or_404(
        RelapsePreventionPlan.objects.select_related("episode", "site", "clinician_signed_by").filter(
            episode__patient=patient
        ),
        public_id=plan_id,
    )


def _rp_url(public_id, plan_id) -> str:
    return reverse("plans:rp_plan", args=[public_id, plan_id])


@login_required
@require_POST
def rp_plan_start(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    episode = _episode(patient)
    try:
        plan = services.rp_plan_start(episode=episode, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("plans:overview", public_id=patient.public_id)
    messages.success(request, f"Relapse-prevention plan version {plan.version} started as a draft.")
    return redirect(_rp_url(patient.public_id, plan.public_id))


def _contacts_of(plan: RelapsePreventionPlan) -> list:
    listed = [row.contact for row in plan.listed_contacts.select_related("contact__consent", "contact__patient__site")]
    return listed


def _rp_page(request, patient, plan, status=200, **forms) -> HttpResponse:
    may = _may(request.user, patient)
    editable = plan.is_draft and may["write"]
    triggers = list(plan.triggers.prefetch_related("strategies"))
    context = _context(
        request,
        patient,
        plan=plan,
        triggers=triggers,
        contacts=_contacts_of(plan),
        editable=editable,
        versions=list(
            plan.episode.relapse_prevention_plans.order_by("-version").only("public_id", "version", "status")
        ),
        incomplete=services.rp_plan_problems(plan) if plan.is_draft else [],
    )
    if editable:
        available = list(patient.support_contacts.active().select_related("consent"))
        for contact in available:
            contact.patient = patient
            contact.list_problem = support_contact_contact_problem(contact)
        context.update(
            plan_form=forms.get("plan_form") or RelapsePreventionPlanForm(instance=plan),
            trigger_form=forms.get("trigger_form") or RPTriggerForm(),
            strategy_form=forms.get("strategy_form") or RPStrategyForm(plan=plan),
            contact_form=forms.get("contact_form") or RPContactForm(patient=patient),
            sign_form=forms.get("sign_form") or SignForm(),
            available_contacts=available,
        )
    _viewed(request, patient, obj=plan)
    return render(request, "plans/rp_plan.html", context, status=status)


@login_required
def rp_plan(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id)
    plan = _rp_plan(patient, plan_id)
    if request.method == "POST":
        patient = _patient(request, public_id, write=True)
        form = RelapsePreventionPlanForm(request.POST, instance=RelapsePreventionPlan.objects.get(pk=plan.pk))
        if form.is_valid():
            try:
                services.rp_plan_update(plan=plan, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Plan saved.")
                return redirect(_rp_url(public_id, plan_id))
        return _rp_page(request, patient, plan, plan_form=form)
    return _rp_page(request, patient, plan)


@login_required
@require_POST
def rp_trigger_add(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _rp_plan(patient, plan_id)
    form = RPTriggerForm(request.POST)
    if form.is_valid():
        try:
            services.rp_trigger_add(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Trigger added.")
            return redirect(_rp_url(public_id, plan_id))
    return _rp_page(request, patient, plan, trigger_form=form)


@login_required
@require_POST
def rp_strategy_add(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _rp_plan(patient, plan_id)
    form = RPStrategyForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            services.rp_strategy_add(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Coping strategy added.")
            return redirect(_rp_url(public_id, plan_id))
    return _rp_page(request, patient, plan, strategy_form=form)


@login_required
@require_POST
def rp_contact_add(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _rp_plan(patient, plan_id)
    form = RPContactForm(request.POST, patient=patient)
    if form.is_valid():
        try:
            services.rp_contact_add(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Support person listed.")
            return redirect(_rp_url(public_id, plan_id))
    return _rp_page(request, patient, plan, contact_form=form)


@login_required
@require_POST
def rp_contact_remove(request: HttpRequest, public_id, plan_id, contact_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _rp_plan(patient, plan_id)
    contact = get_object_or_404(patient.support_contacts, public_id=contact_id)
    try:
        services.rp_contact_remove(plan=plan, by=request.user, contact=contact)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_rp_url(public_id, plan_id))


@login_required
@require_POST
def rp_plan_sign(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    plan = _rp_plan(patient, plan_id)
    if not recently_authenticated(request):
        return reauthenticate_redirect(request, _rp_url(public_id, plan_id), "sign this plan", "Nothing was signed.")
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            plan = services.rp_plan_sign(plan=plan, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Signed: version {plan.version} is the patient's plan now.")
            return redirect(_rp_url(public_id, plan_id))
    return _rp_page(request, patient, plan, sign_form=form)


@login_required
def rp_plan_print(request: HttpRequest, public_id, plan_id) -> HttpResponse:
    """The patient's copy: this patient only, no internal note, the site's neutral name."""
    patient = _patient(request, public_id)
    plan = _rp_plan(patient, plan_id)
    context = {
        "plan": plan,
        "patient_name": patient.preferred_name or patient.legal_first_name,
        "patient_full_name": patient.legal_name,
        "sender_name": plan.site.sender_name,
        "triggers": list(plan.triggers.prefetch_related("strategies")),
        "contacts": _contacts_of(plan),
    }
    _viewed(request, patient, obj=plan, action=Action.PRINT)
    return render(request, "plans/rp_print.html", context)


# --- recovery activities ------------------------------------------------------------------------------


@login_required
def recovery(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id)
    form = None
    if has_capability(request.user, patient.site_id, "clinical.write"):
        form = RecoveryActivityForm(request.POST or None, patient=patient, initial={"date": site_today(patient.site)})
    if request.method == "POST":
        patient = _patient(request, public_id, write=True)
        if form.is_valid():
            try:
                services.recovery_activity_record(patient=patient, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Recovery activity logged.")
                return redirect("plans:recovery", public_id=patient.public_id)
    activities = list(patient.recovery_activities.select_related("sponsor_contact", "recorded_by"))
    _viewed(request, patient, object_type="plans.RecoveryActivity")
    return render(request, "plans/recovery.html", _context(request, patient, activities=activities, form=form))


# --- aftercare and follow-ups ----------------------------------------------------------------------------


@login_required
def aftercare(request: HttpRequest, public_id) -> HttpResponse:
    patient = _patient(request, public_id)
    episode = _episode(patient)
    plan = AftercarePlan.objects.filter(episode=episode).first()
    form = referral_form = None
    if has_capability(request.user, patient.site_id, "clinical.write"):
        form = AftercareForm(instance=plan)
        referral_form = AftercareReferralForm()
    if request.method == "POST":
        patient = _patient(request, public_id, write=True)
        if "provider" in request.POST:
            referral_form = AftercareReferralForm(request.POST)
            if referral_form.is_valid():
                try:
                    services.aftercare_referral_add(episode=episode, by=request.user, **referral_form.cleaned_data)
                except ValidationError as exc:
                    add_service_errors(referral_form, exc)
                else:
                    messages.success(request, "Referral added to the aftercare plan.")
                    return redirect("plans:aftercare", public_id=patient.public_id)
        else:
            # An unsaved copy: the form only validates input, the service saves (and audits).
            form = AftercareForm(request.POST, instance=AftercarePlan(episode=episode, site=episode.site))
            if form.is_valid():
                try:
                    services.aftercare_update(episode=episode, by=request.user, **form.cleaned_data)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, "Aftercare plan saved.")
                    return redirect("plans:aftercare", public_id=patient.public_id)
    referrals = list(plan.referrals.filter(withdrawn_at__isnull=True)) if plan else []
    follow_ups = list(episode.follow_ups.select_related("completed_by"))
    _viewed(request, patient, object_type="plans.AftercarePlan")
    return render(
        request,
        "plans/aftercare.html",
        _context(
            request,
            patient,
            episode=episode,
            aftercare=plan,
            referrals=referrals,
            follow_ups=follow_ups,
            form=form,
            referral_form=referral_form,
        ),
    )


def _scope(request: HttpRequest):
    """(site, counselor): clinicians see their own patients, supervisors and directors the site."""
    site = request.clinic.site
    if site is None or not has_capability(request.user, site, "clinical.view"):
        raise PermissionDenied
    counselor = request.user if request.clinic.role == Role.CLINICIAN else None
    return site, counselor


@login_required
def due(request: HttpRequest) -> HttpResponse:
    site, counselor = _scope(request)
    rows = plans_due([site.pk], site_today(site), counselor=counselor, horizon_days=7)
    record(
        Action.VIEW,
        request=request,
        site=site,
        object_type="plans.PlanDue",
        changes={"shown": sorted({str(r.patient.public_id) for r in rows})},
    )
    return render(request, "plans/due.html", {"rows": rows, "mine": counselor is not None, "site": site})


@login_required
def follow_ups(request: HttpRequest) -> HttpResponse:
    site, counselor = _scope(request)
    rows = list(follow_ups_due([site.pk], site_today(site), counselor=counselor, horizon_days=7))
    record(
        Action.VIEW,
        request=request,
        site=site,
        object_type="plans.FollowUpCheckIn",
        changes={"shown": sorted({str(r.patient.public_id) for r in rows})},
    )
    today = site_today(site)
    return render(request, "plans/follow_ups.html", {"rows": rows, "today": today, "mine": counselor is not None})


@login_required
def follow_up_record(request: HttpRequest, public_id, checkin_id) -> HttpResponse:
    patient = _patient(request, public_id, write=True)
    checkin = get_object_or_404(
        FollowUpCheckIn.objects.select_related("episode"), patient=patient, public_id=checkin_id
    )
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.follow_up_record(checkin=checkin, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Follow-up recorded.")
            return redirect("plans:follow_ups")
    _viewed(request, patient, obj=checkin)
    return render(request, "plans/follow_up_record.html", _context(request, patient, checkin=checkin, form=form))
