from django.contrib.auth import views as auth_views
from django.urls import path

from gongzhi.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("baseline/", views.baseline, name="baseline"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/sms/", views.sms_login, name="sms-login"),
    path("accounts/otp/", views.otp, name="otp"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Not under /accounts/: that prefix is exempt from the second factor, and this page must not be.
    path("staff/second-factor/", views.second_factor_users, name="second-factor-users"),
    path("files/<uuid:key>/", views.upload_file, name="upload"),
]
