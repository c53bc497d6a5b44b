"""Writes to staff accounts, memberships and invitations."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .models import Invitation, Membership, Role, Site, User
from .signals import staff_changed


@transaction.atomic
def invitation_create(*, site: Site, email: str, role: str, by: User, base_url: str) -> tuple[Invitation, str]:
    """Invite a person to a site with a role and email them a link that expires.

    Returns the invitation and the link (shown once to the inviting admin as well).
    """
    email = email.strip().lower()
    if Membership.objects.filter(site=site, user__email__iexact=email, is_active=True).exists():
        raise ValidationError({"email": "This person is already a member of this site."})
    # A new invitation replaces any pending one for the same address and site.
    Invitation.objects.pending().filter(site=site, email__iexact=email).update(revoked_at=timezone.now())
    token, token_hash = Invitation.new_token()
    invitation = Invitation(
        email=email, site=site, role=role, token_hash=token_hash, invited_by=by, expires_at=Invitation.default_expiry()
    )
    invitation.full_clean()
    invitation.save()
    link = base_url.rstrip("/") + reverse("users:invitation_accept", args=[token])
    # The message names the product and the site's neutral sender name only.
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You have been invited to {site.sender_name}",
            message=(
                f"{by} invited you to join {site.sender_name} as {invitation.get_role_display().lower()}.\n\n"
                f"Set your password here: {link}\n\nThe link expires on "
                f"{timezone.localtime(invitation.expires_at, site.zone):%Y-%m-%d %H:%M %Z}."
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    staff_changed.send(sender=Invitation, actor=by, site=site, event="invited", details={"email": email, "role": role})
    return invitation, link


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != "pending":
        raise ValidationError(f"This invitation is already {invitation.status}.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at", "updated_at"])
    staff_changed.send(
        sender=Invitation,
        actor=by,
        site=invitation.site,
        event="invitation_revoked",
        details={"email": invitation.email},
    )


@transaction.atomic
def invitation_accept(*, token: str, user: User | None = None, full_name: str = "", password: str = "") -> User:
    """Accept an invitation: create the account (or use the signed-in one) and add the membership.

    Raises ValidationError when the link is unknown, expired, revoked or already used, or when
    a signed-in user's address differs from the invited one.
    """
    invitation = Invitation.objects.select_for_update().by_token(token).select_related("site").first()
    if invitation is None:
        raise ValidationError("This invitation link is not valid.")
    if invitation.status != "pending":
        raise ValidationError(f"This invitation has {invitation.status}. Ask your site admin for a new one.")
    if user is None:
        if get_user_model().objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(
                "An account with this address exists already: sign in first, then open the link again."
            )
        user = get_user_model().objects.create_user(invitation.email, password, full_name=full_name)
    elif user.email.lower() != invitation.email.lower():
        raise ValidationError("This invitation was sent to a different address than the one you are signed in with.")
    Membership.objects.update_or_create(
        user=user, site=invitation.site, defaults={"role": invitation.role, "is_active": True}
    )
    staff_flag_sync(user)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    staff_changed.send(
        sender=Invitation,
        actor=user,
        site=invitation.site,
        event="invitation_accepted",
        details={"role": invitation.role},
    )
    return user


@transaction.atomic
def site_update(*, site: Site, by: User, **fields) -> Site:
    site = Site.objects.select_for_update().get(pk=site.pk)
    before = {name: getattr(site, name) for name in fields}
    changed = [name for name, value in fields.items() if getattr(site, name) != value]
    if not changed:
        return site
    for name in changed:
        setattr(site, name, fields[name])
    site.full_clean()
    site.save(update_fields=[*changed, "updated_at"])
    if "is_active" in changed:
        # Closing (or reopening) a site ends (or restores) its site admins' admin access.
        admins = Membership.objects.filter(site=site, role=Role.SITE_ADMIN, is_active=True).select_related("user")
        for membership in admins:
            staff_flag_sync(membership.user)
    staff_changed.send(
        sender=Site,
        actor=by,
        site=site,
        event="site_updated",
        details={"before": {n: before[n] for n in changed}, "after": {n: fields[n] for n in changed}},
    )
    return site


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, is_active: bool, by: User) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.user_id == by.pk and (role != membership.role or not is_active):
        raise ValidationError("You cannot change your own role; ask another site admin.")
    before = {"role": membership.role, "is_active": membership.is_active}
    membership.role, membership.is_active = role, is_active
    membership.full_clean()
    membership.save(update_fields=["role", "is_active", "updated_at"])
    staff_flag_sync(membership.user)
    staff_changed.send(
        sender=Membership,
        actor=by,
        site=membership.site,
        event="membership_changed",
        details={"user": membership.user.email, "before": before, "after": {"role": role, "is_active": is_active}},
    )
    return membership


def staff_flag_sync(user: User) -> bool:
    """Let a site admin sign in to the Django admin, and no longer once they are not one.

    ``is_staff`` is set while the user holds the site admin role at an active site, and cleared
    when they hold it nowhere, unless a superuser gave them admin access of their own (explicit
    permissions or groups). Superusers are left alone. Returns the flag."""
    if user.is_superuser:
        return user.is_staff
    is_site_admin = Membership.objects.active().filter(user=user, role=Role.SITE_ADMIN).exists()
    if is_site_admin:
        wanted = True
    elif user.is_staff and (user.user_permissions.exists() or user.groups.exists()):
        wanted = True
    else:
        wanted = False
    if user.is_staff != wanted:
        user.is_staff = wanted
        user.save(update_fields=["is_staff"])
    return wanted
