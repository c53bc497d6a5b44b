"""Clinician alerts over the API: list (``clinical.view``), read, acknowledge (``clinical.write``)."""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from users.api.base import ERRORS_READ, ERRORS_WRITE, AuditedListApi, audit_view
from users.permissions import site_ids_for

from .. import services
from ..models import Alert, AlertAction, AlertKind, Severity
from ..permissions import alerts_visible_to, get_alert_for_user
from .serializers import AlertOutput

TAG = ["alerts"]


class AlertFilter(django_filters.FilterSet):
    site = django_filters.UUIDFilter(field_name="site__public_id")
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    is_open = django_filters.BooleanFilter(field_name="acknowledged_at", lookup_expr="isnull")
    mine = django_filters.BooleanFilter(method="filter_mine", label="Only alerts addressed to me")

    def filter_mine(self, queryset, name, value):
        return queryset.for_recipient(self.request.user) if value else queryset


@extend_schema_view(
    get=extend_schema(tags=TAG, operation_id="alerts_list", responses={200: AlertOutput(many=True), **ERRORS_READ})
)
class AlertListApi(AuditedListApi):
    queryset = Alert.objects.none()
    serializer_class = AlertOutput
    filterset_class = AlertFilter
    ordering_fields = ["created_at", "acknowledged_at"]
    ordering = ["-created_at", "-id"]
    audit_object_type = "notifications.Alert"

    @staticmethod
    def patient_of(alert):
        return alert.patient.public_id if alert.patient_id else None

    def scoped_queryset(self):
        if not site_ids_for(self.request.user, "clinical.view"):
            raise PermissionDenied
        return alerts_visible_to(self.request.user).select_related("site", "patient", "acknowledged_by").distinct()


class AlertDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="alerts_retrieve", responses={200: AlertOutput, **ERRORS_READ})
    def get(self, request, alert_id):
        alert = get_alert_for_user(request.user, alert_id)
        if alert.patient_id:
            audit_view(request, patient=alert.patient, obj=alert, site=alert.site_id)
        return Response(AlertOutput(alert).data)


class AlertAcknowledgeApi(APIView):
    """Acknowledge an open alert with what was done and a note (403 once acknowledged)."""

    class Input(serializers.Serializer):
        action_taken = serializers.ChoiceField(choices=AlertAction.choices)
        action_note = serializers.CharField(max_length=4000)

    @extend_schema(
        tags=TAG, operation_id="alerts_acknowledge", request=Input, responses={200: AlertOutput, **ERRORS_WRITE}
    )
    def post(self, request, alert_id):
        alert = get_alert_for_user(request.user, alert_id, write=True)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(alert=alert, by=request.user, **data.validated_data)
        return Response(AlertOutput(alert).data)
