from django.urls import path

from gongzhi.servicedesk import views

app_name = "servicedesk"

urlpatterns = [
    path("rate/<str:key>/", views.rate, name="rate"),
]
