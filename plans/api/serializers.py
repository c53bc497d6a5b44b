"""Read-only output shape of a treatment plan version with its problems, goals and objectives."""

from __future__ import annotations

from rest_framework import serializers

from users.api.base import OutputSerializer

from ..models import Goal, Intervention, Objective, Problem, TreatmentPlan


class InterventionOutput(OutputSerializer):
    """DOMAIN.md §7: "Interventions: modality, frequency, responsible staff"."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    responsible = serializers.UUIDField(source="responsible.public_id", read_only=True)
    responsible_name = serializers.CharField(source="responsible.signature_name", read_only=True)

    class Meta:
        model = Intervention
        fields = ["id", "modality", "frequency", "responsible", "responsible_name"]
        read_only_fields = fields


class ObjectiveOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    interventions = InterventionOutput(many=True, read_only=True)

    class Meta:
        model = Objective
        fields = ["id", "statement", "target_date", "status", "interventions"]
        read_only_fields = fields


class GoalOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    objectives = ObjectiveOutput(many=True, read_only=True)

    class Meta:
        model = Goal
        fields = ["id", "statement", "objectives"]
        read_only_fields = fields


class ProblemOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    dimensions = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    goals = GoalOutput(many=True, read_only=True)

    class Meta:
        model = Problem
        fields = ["id", "statement", "dimensions", "diagnosis", "icd10_code", "goals"]
        read_only_fields = fields


class TreatmentPlanOutput(OutputSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    episode = serializers.UUIDField(source="episode.public_id", read_only=True)
    patient = serializers.UUIDField(source="episode.patient.public_id", read_only=True)

    class Meta:
        model = TreatmentPlan
        fields = [
            "id",
            "episode",
            "patient",
            "version",
            "status",
            "reason",
            "reason_detail",
            "plan_date",
            "strengths",
            "needs",
            "abilities",
            "preferences",
            "discharge_criteria",
            "patient_signed_name",
            "patient_signed_at",
            "patient_declined_reason",
            "clinician_credentials",
            "clinician_signed_at",
            "supervisor_credentials",
            "supervisor_signed_at",
            "signed_at",
            "updated_at",
        ]
        read_only_fields = fields


class TreatmentPlanDetailOutput(TreatmentPlanOutput):
    problems = ProblemOutput(many=True, read_only=True)

    class Meta(TreatmentPlanOutput.Meta):
        fields = [*TreatmentPlanOutput.Meta.fields, "problems"]
        read_only_fields = fields
