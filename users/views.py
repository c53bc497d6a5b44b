from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import services
from .forms import AcceptInvitationForm, InvitationForm, MembershipForm, SiteForm, add_service_errors
from .middleware import SITE_KEY
from .models import Invitation, Membership
from .permissions import get_site_for_user, has_capability, require_capability


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "users/home.html", {"memberships": request.clinic.memberships})


@login_required
@require_POST
def site_switch(request: HttpRequest) -> HttpResponse:
    site = get_site_for_user(request.user, request.POST.get("site"))
    request.session[SITE_KEY] = site.pk
    messages.success(request, f"You are now working in {site.name}.")
    target = request.POST.get("next") or "home"
    if target != "home" and not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "home"
    return redirect(target)


@login_required
def site_detail(request: HttpRequest, public_id) -> HttpResponse:
    site = get_site_for_user(request.user, public_id)
    return render(
        request,
        "users/site_detail.html",
        {"site": site, "can_change": has_capability(request.user, site, "site.change")},
    )


@login_required
def site_edit(request: HttpRequest, public_id) -> HttpResponse:
    site = get_site_for_user(request.user, public_id, write=True)
    form = SiteForm(request.POST or None, instance=site)
    if request.method == "POST" and form.is_valid():
        # The form validated a copy on the instance; the service re-reads and saves with a lock.
        services.site_update(site=site, by=request.user, **{f: form.cleaned_data[f] for f in form.fields})
        messages.success(request, "Site settings saved.")
        return redirect("users:site_detail", public_id=site.public_id)
    return render(request, "users/site_edit.html", {"site": site, "form": form})


@login_required
def staff(request: HttpRequest, public_id) -> HttpResponse:
    site = get_site_for_user(request.user, public_id)
    require_capability(request.user, site, "staff.invite")
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, link = services.invitation_create(
                site=site, by=request.user, base_url=request.build_absolute_uri("/"), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Invitation sent to {invitation.email}. The link expires in {settings.INVITATION_TTL_HOURS} hours.",
            )
            return redirect("users:staff", public_id=site.public_id)
    members = Membership.objects.filter(site=site).select_related("user").order_by("user__full_name", "user__email")
    invitations = Invitation.objects.filter(site=site).select_related("invited_by")[:50]
    return render(
        request, "users/staff.html", {"site": site, "form": form, "members": members, "invitations": invitations}
    )


@login_required
def membership_edit(request: HttpRequest, public_id, membership_id: int) -> HttpResponse:
    site = get_site_for_user(request.user, public_id)
    require_capability(request.user, site, "staff.invite")
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, site=site)
    form = MembershipForm(request.POST or None, instance=membership)
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_set_role(membership=membership, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Role saved for {membership.user}.")
            return redirect("users:staff", public_id=site.public_id)
    return render(request, "users/membership_edit.html", {"site": site, "membership": membership, "form": form})


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, public_id, invitation_id: int) -> HttpResponse:
    site = get_site_for_user(request.user, public_id)
    require_capability(request.user, site, "staff.invite")
    invitation = get_object_or_404(Invitation, pk=invitation_id, site=site)
    try:
        services.invitation_revoke(invitation=invitation, by=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("users:staff", public_id=site.public_id)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = Invitation.objects.by_token(token).select_related("site").first()
    if invitation is None:
        raise Http404
    if invitation.status != "pending":
        return render(request, "users/invitation_invalid.html", {"invitation": invitation}, status=410)
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                services.invitation_accept(token=token, user=request.user)
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
                return redirect("home")
            messages.success(request, f"You joined {invitation.site.name}.")
            return redirect("home")
        return render(request, "users/invitation_join.html", {"invitation": invitation})
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password1"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Your account is ready. Now set up two-factor authentication.")
            return redirect("mfa_index")
    return render(request, "users/invitation_accept.html", {"invitation": invitation, "form": form})
