from django.urls import path

from . import views

urlpatterns = [
    path("assessments/", views.ResponseListApi.as_view(), name="assessment-list"),
    path("assessments/create/", views.ResponseCreateApi.as_view(), name="assessment-create"),
    path("assessments/score/", views.ScoreApi.as_view(), name="assessment-score"),
    path("assessments/<uuid:response_id>/", views.ResponseDetailApi.as_view(), name="assessment-detail"),
    path("placements/", views.PlacementListApi.as_view(), name="placement-list"),
    path("placements/recommend/", views.PlacementRecommendApi.as_view(), name="placement-recommend"),
    path("placements/create/", views.PlacementCreateApi.as_view(), name="placement-create"),
    path("placements/<uuid:placement_id>/", views.PlacementDetailApi.as_view(), name="placement-detail"),
    path("placements/<uuid:placement_id>/update/", views.PlacementUpdateApi.as_view(), name="placement-update"),
    path("placements/<uuid:placement_id>/decide/", views.PlacementDecideApi.as_view(), name="placement-decide"),
    path("placements/<uuid:placement_id>/sign/", views.PlacementSignApi.as_view(), name="placement-sign"),
    path("placements/<uuid:placement_id>/cosign/", views.PlacementCosignApi.as_view(), name="placement-cosign"),
]
