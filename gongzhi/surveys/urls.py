from django.urls import path

from gongzhi.surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_new, name="new"),
    path("settings/", views.settings_view, name="settings"),
    path("mine/", views.mine, name="mine"),
    path("area/<int:node_id>/", views.area_rates, name="area"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/questions/", views.questions_page, name="questions"),
    path("<int:pk>/questions/add/", views.question_edit, name="question-add"),
    path("<int:pk>/questions/<slug:key>/", views.question_edit, name="question-edit"),
    path("<int:pk>/preview/", views.preview, name="preview"),
    path("<int:pk>/preview/<int:n>/", views.preview_step, name="preview-step"),
    path("<int:pk>/open/", views.open_view, name="open"),
    path("<int:pk>/close/", views.close_view, name="close"),
    path("<int:pk>/publish/", views.publish, name="publish"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/quotas/", views.quotas, name="quotas"),
    path("<int:pk>/rates/", views.rates_page, name="rates"),
    path("<int:pk>/rates.json", views.data_file, name="data"),
    path("<int:pk>/figures.json", views.figures_json, name="figures"),
    path("<int:pk>/export/", views.export_view, name="export"),
    path("<int:pk>/responses/", views.responses, name="responses"),
    path("<int:pk>/responses/<int:rid>/", views.response_detail, name="response"),
    path("<int:pk>/enter/", views.enter_find, name="enter"),
    path("<int:pk>/papers/", views.papers, name="papers"),
    path("<int:pk>/enter/<str:token>/", views.enter_form, name="enter-form"),
    path("<int:pk>/answer/", views.answer_start, name="answer"),
    path("<int:pk>/answer/code/", views.answer_code, name="answer-code"),
    path("<int:pk>/answer/q/<int:n>/", views.answer_step, name="answer-step"),
    path("<int:pk>/answer/check/", views.answer_check, name="answer-check"),
    path("<int:pk>/answer/done/", views.answer_done, name="answer-done"),
]
