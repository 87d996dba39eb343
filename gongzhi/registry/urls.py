from django.urls import path

from gongzhi.registry import import_views, views

app_name = "registry"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("search/", views.search, name="search"),
    path("node/<int:pk>/", views.node_detail, name="node"),
    path("unit/<int:pk>/", views.unit_detail, name="unit"),
    path("person/<int:pk>/", views.person_detail, name="person"),
    path("person/<int:pk>/export/", views.person_export, name="person-export"),
    path("person/<int:pk>/erase/", views.person_erase, name="person-erase"),
    *import_views.urlpatterns,  # roster import and export (import/…, export/…)
]
