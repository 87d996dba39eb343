from django.urls import path

from gongzhi.deliberation import views

app_name = "deliberation"
urlpatterns = [
    path("", views.matter_list, name="list"),
    path("new/", views.matter_new, name="new"),
    path("<int:pk>/", views.matter_detail, name="matter"),
    path("<int:pk>/do/<slug:verb>/", views.matter_action, name="action"),
    path("<int:pk>/advance/", views.matter_advance, name="advance"),
    path("<int:pk>/needs-survey/", views.needs_survey, name="needs_survey"),
    path("<int:pk>/households/", views.households, name="households"),
    path("<int:pk>/households/<int:unit_pk>/", views.operator_entry, name="operator_entry"),
    path("<int:pk>/opinion/", views.opinion_kind, name="opinion_kind"),
    path("<int:pk>/opinion/text/", views.opinion_text, name="opinion_text"),
    path("<int:pk>/opinion/check/", views.opinion_check, name="opinion_check"),
    path("<int:pk>/opinion/done/<int:ref>/", views.opinion_done, name="opinion_done"),
    path("<int:pk>/objection/", views.objection_new, name="objection"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
]
