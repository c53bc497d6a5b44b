from django.urls import path

from . import views

app_name = "plans"

P = "patients/<uuid:public_id>/"
TP = P + "treatment/<uuid:plan_id>/"
RP = P + "relapse-prevention/<uuid:plan_id>/"

urlpatterns = [
    path("due/", views.due, name="due"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path(P, views.overview, name="overview"),
    path(P + "review-request/", views.review_request, name="review_request"),
    path(P + "relapse/", views.relapse, name="relapse"),
    path(P + "recovery/", views.recovery, name="recovery"),
    path(P + "aftercare/", views.aftercare, name="aftercare"),
    path(P + "follow-ups/<uuid:checkin_id>/", views.follow_up_record, name="follow_up_record"),
    path(P + "treatment/start/", views.treatment_plan_start, name="treatment_plan_start"),
    path(TP, views.treatment_plan, name="treatment_plan"),
    path(TP + "edit/", views.treatment_plan_edit, name="treatment_plan_edit"),
    path(TP + "problems/", views.problem_add, name="problem_add"),
    path(TP + "problems/<uuid:problem_id>/goals/", views.goal_add, name="goal_add"),
    path(TP + "goals/<uuid:goal_id>/objectives/", views.objective_add, name="objective_add"),
    path(TP + "objectives/<uuid:objective_id>/", views.objective_edit, name="objective_edit"),
    path(TP + "objectives/<uuid:objective_id>/interventions/", views.intervention_add, name="intervention_add"),
    path(TP + "sign/", views.treatment_plan_sign, name="treatment_plan_sign"),
    path(TP + "cosign/", views.treatment_plan_cosign, name="treatment_plan_cosign"),
    path(P + "plans/<uuid:plan_id>/<slug:kind>/<uuid:part_id>/remove/", views.part_remove, name="part_remove"),
    path(P + "relapse-prevention/start/", views.rp_plan_start, name="rp_plan_start"),
    path(RP, views.rp_plan, name="rp_plan"),
    path(RP + "triggers/", views.rp_trigger_add, name="rp_trigger_add"),
    path(RP + "strategies/", views.rp_strategy_add, name="rp_strategy_add"),
    path(RP + "contacts/", views.rp_contact_add, name="rp_contact_add"),
    path(RP + "contacts/<uuid:contact_id>/remove/", views.rp_contact_remove, name="rp_contact_remove"),
    path(RP + "sign/", views.rp_plan_sign, name="rp_plan_sign"),
    path(RP + "print/", views.rp_plan_print, name="rp_plan_print"),
]
