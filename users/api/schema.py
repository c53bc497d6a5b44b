"""The OpenAPI schema class: component names from the view that owns a nested serializer.

Views nest their ``Input`` serializers (STYLE.md §4), so the class name alone ("Input") is
not unique; ``PatientCreateApi.Input`` becomes the component ``PatientCreateInput``.
"""

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    def get_serializer_name(self, serializer, direction):
        cls = serializer.__class__
        qualname = cls.__qualname__
        if "." in qualname and "<locals>" not in qualname:
            owner, _, name = qualname.rpartition(".")
            return owner.replace(".", "").removesuffix("Api") + name
        return super().get_serializer_name(serializer, direction)
