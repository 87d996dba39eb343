from django.urls import path

from gongzhi.voting import views

app_name = "voting"
urlpatterns = [
    path("", views.vote_list, name="list"),
    path("new/", views.call_vote, name="call"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/step/<slug:step>/", views.step, name="step"),
    path("<int:pk>/roll/", views.roll, name="roll"),
    path("<int:pk>/turnout/", views.turnout, name="turnout"),
    path("<int:pk>/result/", views.result, name="result"),
    path("<int:pk>/data.json", views.data_file, name="data"),
    path("<int:pk>/verify/", views.verify, name="verify"),
    path("<int:pk>/receipt/", views.receipt, name="receipt"),
    path("<int:pk>/receipt/proof/", views.receipt_proof, name="receipt_proof"),
    path("<int:pk>/log/", views.log, name="log"),
    path("<int:pk>/vote/", views.resident_start, name="resident-start"),
    path("<int:pk>/vote/code/", views.resident_code, name="resident-code"),
    path("<int:pk>/vote/choice/", views.resident_choice, name="resident-choice"),
    path("<int:pk>/vote/check/", views.resident_check, name="resident-check"),
    path("<int:pk>/vote/done/", views.resident_done, name="resident-done"),
    path("<int:pk>/enter/", views.enter_find, name="enter"),
    path("<int:pk>/enter/done/", views.enter_done, name="enter-done"),
    path("<int:pk>/enter/<slug:token>/", views.enter_form, name="enter-form"),
    path("<int:pk>/enter/<slug:token>/check/", views.enter_check, name="enter-check"),
    path("<int:vote_id>/notice/<slug:kind>/", views.post_notice, name="post_notice"),
]
