from django.urls import path

from . import views

urlpatterns = [
    path("plans/", views.TreatmentPlanListApi.as_view(), name="plan-list"),
    path("plans/create/", views.TreatmentPlanCreateApi.as_view(), name="plan-create"),
    path("plans/<uuid:plan_id>/", views.TreatmentPlanDetailApi.as_view(), name="plan-detail"),
    path("plans/<uuid:plan_id>/update/", views.TreatmentPlanUpdateApi.as_view(), name="plan-update"),
    path("plans/<uuid:plan_id>/sign/", views.TreatmentPlanSignApi.as_view(), name="plan-sign"),
]
