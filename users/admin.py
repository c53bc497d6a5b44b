from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect

from .admin_audit import AuditedAdminMixin, SiteScopedAdminMixin, admin_site_ids
from .api.tokens import api_token_revoke
from .models import ApiToken, Invitation, Membership, Site, User
from .services import membership_set_role, site_update, staff_flag_sync

# Shown for tokens in the admin: never the secret (only its hash is stored, and that is not shown either).
TOKEN_FIELDS = ["name", "prefix", "user", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_by"]


def _revoke_tokens(request, tokens) -> int:
    revoked = 0
    for token in tokens:
        revoked += api_token_revoke(token=token, by=request.user, request=request, reason="API token revoked in admin")
    return revoked


class MembershipInline(SiteScopedAdminMixin, admin.TabularInline):
    """A site admin sees the memberships at their own sites here; roles change on the membership's
    page (through the service), so for them the inline is read-only."""

    model = Membership
    extra = 0
    fk_name = "user"
    site_admin_can = frozenset({"view"})

    def get_readonly_fields(self, request, obj=None):
        return ["site", "role", "is_active"] if not request.user.is_superuser else []


class ApiTokenInline(SiteScopedAdminMixin, admin.TabularInline):
    model = ApiToken
    fk_name = "user"
    fields = ["name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "API tokens (revoke them with the action on the user list or on API tokens)"
    site_admin_can = frozenset({"view"})

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


#: What only a superuser sets on an account: a site admin cannot grant the admin, permissions or
#: superuser, nor set someone's password (people reset their own through the sign-in page).
SUPERUSER_ONLY_USER_FIELDS = {"password", "is_superuser", "groups", "user_permissions"}


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    """Staff accounts. A site admin sees the staff of their sites and may correct a name or
    credentials, or deactivate an account, of someone who works only at sites they administer
    and is not a superuser. Whether someone may sign in to the admin follows their role."""

    site_admin_can = frozenset({"view", "change"})
    ordering = ["email"]
    list_display = ["email", "full_name", "credentials", "is_active", "is_staff", "last_login"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    readonly_fields = ["last_login", "date_joined", "public_id"]
    inlines = [MembershipInline, ApiTokenInline]
    actions = ["revoke_api_tokens"]
    fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        ("Person", {"fields": ["full_name", "credentials"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in SUPERUSER_ONLY_USER_FIELDS]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["email", "is_staff"]
        return readonly

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or request.user.is_superuser:
            return True
        if obj.is_superuser:
            return False
        # Only someone who works at no site but the admin's own: a change reaches every site.
        sites = set(obj.memberships.values_list("site_id", flat=True))
        return sites <= admin_site_ids(request.user)

    def user_change_password(self, request, id, form_url=""):
        if not request.user.has_perm("users.change_user"):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    @admin.action(description="Revoke every API token of the selected staff", permissions=["change"])
    def revoke_api_tokens(self, request, queryset):
        tokens = ApiToken.objects.filter(user__in=queryset, revoked_at__isnull=True)
        self.message_user(request, f"{_revoke_tokens(request, tokens)} API token(s) revoked.", messages.SUCCESS)


@admin.register(Site)
class SiteAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A site admin changes their own sites' details (through ``site_update``, audited); sites
    are added, closed and deleted by superusers."""

    site_admin_can = frozenset({"view", "change"})
    list_display = ["name", "time_zone", "sender_name", "is_active"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if request.user.is_superuser else [*readonly, "is_active"]

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        fields = {name: form.cleaned_data[name] for name in form.changed_data}
        site_update(site=Site.objects.get(pk=obj.pk), by=request.user, **fields)


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Roles at a site. A site admin changes the roles at their sites (through
    ``membership_set_role``, audited, as on the staff page); people join a site by invitation,
    so only superusers add memberships here."""

    site_admin_can = frozenset({"view", "change"})
    list_display = ["user", "site", "role", "is_active"]
    list_filter = ["site", "role", "is_active"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user", "site"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "site"] if obj else []

    def get_form(self, request, obj=None, **kwargs):
        base = super().get_form(request, obj, **kwargs)

        class MembershipAdminForm(base):
            def clean(self):
                data = super().clean()
                own = obj is not None and obj.user_id == request.user.pk
                if own and (data.get("role") != obj.role or not data.get("is_active")):
                    raise ValidationError({"role": "You cannot change your own role; ask another site admin."})
                return data

        return MembershipAdminForm

    def save_model(self, request, obj, form, change):
        if change:
            membership_set_role(
                membership=obj,
                role=form.cleaned_data["role"],
                is_active=form.cleaned_data["is_active"],
                by=request.user,
            )
        else:
            super().save_model(request, obj, form, change)
            staff_flag_sync(obj.user)


@admin.register(Invitation)
class InvitationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    site_admin_can = frozenset({"view"})
    list_display = ["email", "site", "role", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["site", "role"]
    readonly_fields = ["token_hash", "accepted_at", "accepted_by", "invited_by"]

    def has_add_permission(self, request):
        # Invitations are sent from the staff page so that an email and an audit row go with them.
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Staff API tokens, shown by name and prefix. Tokens are issued by their owner on the API
    tokens page; here they can only be revoked (the action, or the button on a token's page).
    A site admin may revoke the tokens of their sites' staff."""

    site_admin_can = frozenset({"view", "change"})

    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "user__email", "user__full_name"]
    list_select_related = ["user"]
    fields = TOKEN_FIELDS
    readonly_fields = TOKEN_FIELDS
    actions = ["revoke"]
    change_form_template = "admin/users/apitoken/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked tokens stay, as history

    @admin.action(description="Revoke selected API tokens", permissions=["change"])
    def revoke(self, request, queryset):
        count = _revoke_tokens(request, queryset.filter(revoked_at__isnull=True))
        self.message_user(request, f"{count} API token(s) revoked.", messages.SUCCESS)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_revoke" in request.POST:
            token = self.get_object(request, object_id)
            if token is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if not self.has_change_permission(request, token):
                raise PermissionDenied
            if _revoke_tokens(request, [token]):
                self.message_user(request, f"API token {token.prefix}… revoked.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        # Every field is read-only: the page offers "Revoke" instead of "Save".
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)
