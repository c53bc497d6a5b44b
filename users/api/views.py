from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from users.models import Membership


class MeApi(APIView):
    """The signed-in staff member, their sites and their role at each."""

    class MembershipOutput(serializers.Serializer):
        site = serializers.UUIDField(source="site.public_id")
        site_name = serializers.CharField(source="site.name")
        time_zone = serializers.CharField(source="site.time_zone")
        role = serializers.CharField()

    class Output(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        email = serializers.EmailField()
        full_name = serializers.CharField()
        credentials = serializers.CharField()
        memberships = serializers.SerializerMethodField()

        def get_memberships(self, user) -> list[dict]:
            memberships = Membership.objects.active().filter(user=user).select_related("site")
            return MeApi.MembershipOutput(memberships, many=True).data

    @extend_schema(responses=Output, operation_id="me")
    def get(self, request):
        return Response(self.Output(request.user).data)
