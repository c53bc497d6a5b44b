from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from .admin_audit import AuditedAdminMixin
from .api.tokens import api_token_revoke
from .models import ApiToken, Invitation, Membership, Site, User

# Shown for tokens in the admin: never the secret (only its hash is stored, and that is not shown either).
TOKEN_FIELDS = ["name", "prefix", "user", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_by"]


def _revoke_tokens(request, tokens) -> int:
    revoked = 0
    for token in tokens:
        revoked += api_token_revoke(token=token, by=request.user, request=request, reason="API token revoked in admin")
    return revoked


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fk_name = "user"


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fk_name = "user"
    fields = ["name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "API tokens (revoke them with the action on the user list or on API tokens)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
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

    @admin.action(description="Revoke every API token of the selected staff", permissions=["change"])
    def revoke_api_tokens(self, request, queryset):
        tokens = ApiToken.objects.filter(user__in=queryset, revoked_at__isnull=True)
        self.message_user(request, f"{_revoke_tokens(request, tokens)} API token(s) revoked.", messages.SUCCESS)


@admin.register(Site)
class SiteAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "time_zone", "sender_name", "is_active"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "site", "role", "is_active"]
    list_filter = ["site", "role", "is_active"]
    search_fields = ["user__email", "user__full_name"]
    autocomplete_fields = ["user", "site"]


@admin.register(Invitation)
class InvitationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["email", "site", "role", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["site", "role"]
    readonly_fields = ["token_hash", "accepted_at", "accepted_by", "invited_by"]

    def has_add_permission(self, request):
        # Invitations are sent from the staff page so that an email and an audit row go with them.
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Staff API tokens, shown by name and prefix. Tokens are issued by their owner on the API
    tokens page; here they can only be revoked (the action, or the button on a token's page)."""

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
