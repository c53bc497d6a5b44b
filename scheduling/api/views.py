"""Tracks, sessions (with a date-range filter), bookings and enrollments over the API.

The calendar (tracks, sessions) is visible to every member of a site and carries no patient
data; rosters and enrollments name patients, so they need ``patient.view`` and are audited.
A booking that would double-book a room or a facilitator answers 409.
"""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.models import Episode
from users.api.base import ERRORS_READ, ERRORS_WRITE, AuditedListApi, ErrorSerializer, audit_listing, audit_view
from users.models import User
from users.permissions import get_site_for_user, has_capability, require_capability, site_ids_for

from .. import services
from ..models import AgeGroup, Enrollment, LevelOfCare, SessionKind, SessionStatus, TherapySession, Track
from ..permissions import (
    can_see_names,
    enrollments_visible_to,
    get_enrollment_for_user,
    get_session_for_user,
    get_track_for_user,
    rooms_visible_to,
    sessions_visible_to,
    tracks_visible_to,
)
from ..selectors import rosters_for
from .serializers import EnrollmentOutput, SessionDetailOutput, SessionOutput, TrackOutput

TAG = ["scheduling"]


# --- tracks ---------------------------------------------------------------------------------------


class TrackFilter(django_filters.FilterSet):
    site = django_filters.UUIDFilter(field_name="site__public_id")
    level_of_care = django_filters.ChoiceFilter(choices=LevelOfCare.choices)
    age_group = django_filters.ChoiceFilter(choices=AgeGroup.choices)
    is_active = django_filters.BooleanFilter()


@extend_schema_view(
    get=extend_schema(tags=TAG, operation_id="tracks_list", responses={200: TrackOutput(many=True), **ERRORS_READ})
)
class TrackListApi(AuditedListApi):
    """Tracks at your sites (no patient data)."""

    queryset = Track.objects.none()
    serializer_class = TrackOutput
    filterset_class = TrackFilter
    ordering_fields = ["name", "start_date"]
    ordering = ["name", "id"]

    def scoped_queryset(self):
        return tracks_visible_to(self.request.user).select_related("site")


class TrackDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="tracks_retrieve", responses={200: TrackOutput, **ERRORS_READ})
    def get(self, request, track_id):
        return Response(TrackOutput(get_track_for_user(request.user, track_id)).data)


# --- sessions -------------------------------------------------------------------------------------


class SessionFilter(django_filters.FilterSet):
    site = django_filters.UUIDFilter(field_name="site__public_id")
    track = django_filters.UUIDFilter(field_name="track__public_id")
    kind = django_filters.ChoiceFilter(choices=SessionKind.choices)
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    starts_after = django_filters.IsoDateTimeFilter(field_name="ends_at", lookup_expr="gt", label="Ends after")
    starts_before = django_filters.IsoDateTimeFilter(field_name="starts_at", lookup_expr="lt", label="Starts before")
    facilitator = django_filters.UUIDFilter(field_name="facilitators__public_id")


@extend_schema_view(
    get=extend_schema(tags=TAG, operation_id="sessions_list", responses={200: SessionOutput(many=True), **ERRORS_READ})
)
class SessionListApi(AuditedListApi):
    """Sessions at your sites; ``starts_after``/``starts_before`` select a date range. Rosters
    are not listed here (see a session's detail)."""

    queryset = TherapySession.objects.none()
    serializer_class = SessionOutput
    filterset_class = SessionFilter
    ordering_fields = ["starts_at"]
    ordering = ["starts_at", "id"]

    def scoped_queryset(self):
        return (
            sessions_visible_to(self.request.user)
            .select_related("site", "track", "room")
            .prefetch_related("facilitators")
            .distinct()
        )


class SessionDetailApi(APIView):
    """One session; the roster (patient names) only for holders of ``patient.view``, audited."""

    @extend_schema(tags=TAG, operation_id="sessions_retrieve", responses={200: SessionDetailOutput, **ERRORS_READ})
    def get(self, request, session_id):
        session = get_session_for_user(request.user, session_id)
        roster = rosters_for([session])[session.pk]
        session.roster_count = len(roster)
        session.roster = None
        if can_see_names(request.user, session.site):
            session.roster = roster
            audit_listing(
                request,
                object_type="scheduling.session",
                patient_ids=[e.episode.patient.public_id for e in roster],
                site=session.site_id,
            )
        return Response(SessionDetailOutput(session).data)


class SessionBookApi(APIView):
    """Book an individual, family, case-management, peer recovery support or psychiatric /
    medication-management session, once or weekly. All or nothing:
    409 when a facilitator or the room is already booked for an overlapping time."""

    class Input(serializers.Serializer):
        site = serializers.UUIDField()
        kind = serializers.ChoiceField(
            choices=SessionKind.choices,
            help_text="individual, family, case_management, peer_support or med_management (psychiatric or "
            "medication management, MOUD/MAUD); group kinds come from tracks",
        )
        day = serializers.DateField()
        start_time = serializers.TimeField()
        end_time = serializers.TimeField()
        facilitators = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=10)
        room = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
        episode = serializers.UUIDField(required=False, allow_null=True)
        topic = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
        repeat_weeks = serializers.IntegerField(default=1, min_value=1, max_value=services.MAX_REPEAT_WEEKS)

    @extend_schema(
        tags=TAG,
        operation_id="sessions_book",
        request=Input,
        responses={
            201: SessionOutput(many=True),
            409: OpenApiResponse(ErrorSerializer, description="A facilitator or the room is already booked."),
            **ERRORS_WRITE,
        },
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        site = get_site_for_user(request.user, fields.pop("site"))
        require_capability(request.user, site, "schedule.book")
        wanted = fields.pop("facilitators")
        facilitators = list(User.objects.filter(public_id__in=wanted, is_active=True))
        if len(facilitators) != len(set(wanted)):
            raise serializers.ValidationError({"facilitators": ["Unknown staff member."]})
        room_id = fields.pop("room", None)
        room = None
        if room_id is not None:
            room = rooms_visible_to(request.user).filter(pk=room_id, site=site).first()
            if room is None:
                raise serializers.ValidationError({"room": ["No such room at this site."]})
        episode_id = fields.pop("episode", None)
        episode = None
        if episode_id is not None:
            require_capability(request.user, site, "patient.view")
            episode = (
                Episode.objects.filter(public_id=episode_id, site=site, patient__deleted_at__isnull=True)
                .select_related("patient")
                .first()
            )
            if episode is None:
                raise serializers.ValidationError({"episode": ["No such episode at this site."]})
        sessions = services.session_book(
            site=site, by=request.user, facilitators=facilitators, room=room, episode=episode, **fields
        )
        return Response(SessionOutput(sessions, many=True).data, status=status.HTTP_201_CREATED)


# --- enrollments ----------------------------------------------------------------------------------


class EnrollmentFilter(django_filters.FilterSet):
    track = django_filters.UUIDFilter(field_name="track__public_id")
    patient = django_filters.UUIDFilter(field_name="episode__patient__public_id")
    active_on = django_filters.DateFilter(method="filter_active_on")

    def filter_active_on(self, queryset, name, value):
        return queryset.active_on(value)


@extend_schema_view(
    get=extend_schema(
        tags=TAG, operation_id="enrollments_list", responses={200: EnrollmentOutput(many=True), **ERRORS_READ}
    )
)
class EnrollmentListApi(AuditedListApi):
    """Enrollments at your sites (they name patients: ``patient.view`` needed; audited)."""

    queryset = Enrollment.objects.none()
    serializer_class = EnrollmentOutput
    filterset_class = EnrollmentFilter
    ordering_fields = ["start_date", "end_date"]
    ordering = ["-start_date", "-id"]
    audit_object_type = "scheduling.Enrollment"

    @staticmethod
    def patient_of(enrollment):
        return enrollment.episode.patient.public_id

    def scoped_queryset(self):
        from django.core.exceptions import PermissionDenied

        if not site_ids_for(self.request.user, "patient.view"):
            raise PermissionDenied
        return enrollments_visible_to(self.request.user).select_related("track", "episode__patient")


class EnrollmentDetailApi(APIView):
    @extend_schema(tags=TAG, operation_id="enrollments_retrieve", responses={200: EnrollmentOutput, **ERRORS_READ})
    def get(self, request, enrollment_id):
        enrollment = get_enrollment_for_user(request.user, enrollment_id)
        audit_view(request, patient=enrollment.episode.patient, obj=enrollment, site=enrollment.track.site_id)
        return Response(EnrollmentOutput(enrollment).data)


class EnrollmentCreateApi(APIView):
    """Enroll a patient's open episode in a track (capacity, age group and overlap checked)."""

    class Input(serializers.Serializer):
        track = serializers.UUIDField()
        episode = serializers.UUIDField()
        start_date = serializers.DateField()
        end_date = serializers.DateField(required=False, allow_null=True, default=None)
        is_taper = serializers.BooleanField(default=False)
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    @extend_schema(
        tags=TAG, operation_id="enrollments_create", request=Input, responses={201: EnrollmentOutput, **ERRORS_WRITE}
    )
    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        track = get_track_for_user(request.user, fields.pop("track"))
        if not has_capability(request.user, track.site_id, "patient.view"):
            raise Http404
        require_capability(request.user, track.site_id, "enrollment.manage")
        episode = (
            Episode.objects.filter(
                public_id=fields.pop("episode"), site_id=track.site_id, patient__deleted_at__isnull=True
            )
            .select_related("patient", "site")
            .first()
        )
        if episode is None:
            raise serializers.ValidationError({"episode": ["No such episode at this track's site."]})
        enrollment = services.enrollment_create(track=track, episode=episode, by=request.user, **fields)
        return Response(EnrollmentOutput(enrollment).data, status=status.HTTP_201_CREATED)


class EnrollmentEndApi(APIView):
    class Input(serializers.Serializer):
        end_date = serializers.DateField()
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)

    @extend_schema(
        tags=TAG, operation_id="enrollments_end", request=Input, responses={200: EnrollmentOutput, **ERRORS_WRITE}
    )
    def post(self, request, enrollment_id):
        enrollment = get_enrollment_for_user(request.user, enrollment_id, write=True)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = services.enrollment_end(enrollment=enrollment, by=request.user, **data.validated_data)
        return Response(EnrollmentOutput(enrollment).data)
