"""Reports over the API: the FHIR R4 disclosure bundle.

The bundle reads every clinical app (``reports.fhir``), so its endpoint lives on the top floor
(ARCHITECTURE.md §3) although its address is under the patient, next to the other disclosures.
It takes the patient, the consent check and the disclosure log from ``patients``.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action
from patients import services as patient_services
from patients.api.views import TAG, DisclosureInput, consent_for_disclosure
from patients.models import DisclosureChannel
from patients.permissions import get_patient_for_user
from users.api.base import ERRORS_WRITE, REAUTHENTICATION, audit_view
from users.api.permissions import SIGN_OR_EXPORT

from ..fhir import disclosure_bundle


class FhirDisclosureApi(APIView):
    """A FHIR R4 bundle of the patient's records in the consented categories, released to a
    recipient. Refused (400 with the reason) without an active covering consent; logged as a
    Disclosure carrying the Part 2 notice (which the bundle carries too) and audited as
    DISCLOSE."""

    permission_classes = SIGN_OR_EXPORT

    class Input(DisclosureInput):
        pass

    @extend_schema(
        tags=TAG,
        operation_id="patients_fhir_disclosure",
        request=Input,
        responses={
            201: OpenApiResponse(
                inline_serializer("FhirBundle", {"resourceType": serializers.CharField()}),
                description="A FHIR R4 Bundle (type collection) with the Part 2 notice.",
            ),
            **ERRORS_WRITE,
            **REAUTHENTICATION,
        },
    )
    def post(self, request, patient_id):
        patient = get_patient_for_user(request.user, patient_id, write=True, capability="disclosure.make")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        fields["consent"] = consent_for_disclosure(patient, fields.get("consent"))
        with transaction.atomic():
            disclosure = patient_services.disclosure_make(
                patient=patient, by=request.user, channel=DisclosureChannel.ELECTRONIC, **fields
            )
            bundle = disclosure_bundle(patient=patient, disclosure=disclosure)
            audit_view(request, patient=patient, obj=disclosure, action=Action.EXPORT)
        return Response(bundle, status=status.HTTP_201_CREATED)
