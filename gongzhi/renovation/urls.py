from django.urls import path

from gongzhi.renovation import views

app_name = "renovation"

urlpatterns = [
    path("", views.start, name="start"),
    path("menu/", views.menu, name="menu"),
    path("menu/new/", views.new_menu_item, name="menu-new"),
    path("menu/<int:item_id>/edit/", views.edit_menu_item, name="menu-edit"),
    path("new/", views.new_project, name="new"),
    path("p/<int:pk>/", views.project, name="project"),
    path("p/<int:pk>/manage/", views.manage, name="manage"),
    path("p/<int:pk>/order/<int:unit_id>/<int:item_id>/", views.order_item, name="order-item"),
    path("p/<int:pk>/order/<int:unit_id>/<int:item_id>/check/", views.order_check, name="order-check"),
    path("p/<int:pk>/order/done/<int:order_id>/", views.order_done, name="order-done"),
    path("p/<int:pk>/proxy/", views.proxy_order, name="proxy-order"),
    path("p/<int:pk>/tallies/", views.tallies, name="tallies"),
    path("p/<int:pk>/door/", views.door, name="door"),
    path("p/<int:pk>/timeline/", views.timeline, name="timeline"),
    path("p/<int:pk>/survey-frame/", views.survey_frame, name="survey-frame"),
    path("p/<int:pk>/works/", views.works, name="works"),
    path("p/<int:pk>/works/<int:work_id>/progress/", views.progress, name="progress"),
    path("p/<int:pk>/works/export.xlsx", views.export_works, name="export"),
    path("p/<int:pk>/works/import/", views.import_works, name="import"),
    path("p/<int:pk>/defects/new/", views.report_defect, name="report-defect"),
    path("p/<int:pk>/defects/<int:defect_id>/decide/", views.defect_decide, name="defect-decide"),
    path("p/<int:pk>/plans/", views.plans, name="plans"),
    path("p/<int:pk>/plans/<int:plan_id>/", views.plan, name="plan"),
    path("p/<int:pk>/plans/<int:plan_id>/image/", views.plan_image, name="plan-image"),
    path("p/<int:pk>/supervision/", views.supervision, name="supervision"),
    path("p/<int:pk>/photo/<uuid:key>/", views.photo, name="photo"),
    path("d/<str:token>/", views.defect_answer, name="defect-answer"),
    path("d/<str:token>/plan/", views.defect_plan_image, name="defect-plan-image"),
    path("d/<str:token>/photo/<slug:which>/", views.defect_photo, name="defect-photo"),
]
