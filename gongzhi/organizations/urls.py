from django.urls import path

from gongzhi.organizations import views

app_name = "organizations"
urlpatterns = [path("coverage/", views.coverage, name="coverage")]
