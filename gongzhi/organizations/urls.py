from django.urls import path

from gongzhi.organizations import views

app_name = "organizations"
urlpatterns = [
    path("", views.organization_list, name="list"),
    path("new/", views.organization_create, name="create"),
    path("<int:pk>/", views.organization_detail, name="detail"),
    path("<int:pk>/dissolve/", views.organization_dissolve, name="dissolve"),
    path("<int:pk>/members/new/", views.member_add, name="member-add"),
    path("<int:pk>/members/<int:member_pk>/end/", views.member_end, name="member-end"),
    path("<int:pk>/members/<int:member_pk>/households/", views.liaison_households, name="liaison-households"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage.xlsx", views.coverage_export, name="coverage-export"),
    path("coverage/<int:pk>/households/", views.coverage_households, name="coverage-households"),
]
