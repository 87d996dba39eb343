from django.urls import path

from gongzhi.registry import import_views, views

app_name = "registry"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("search/", views.search, name="search"),
    path("node/<int:pk>/", views.node_detail, name="node"),
    path("unit/<int:pk>/", views.unit_detail, name="unit"),
    *import_views.urlpatterns,  # roster import and export (import/…, export/…)
]
