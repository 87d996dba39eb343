from django.urls import path

from gongzhi.servicedesk import views

app_name = "servicedesk"

urlpatterns = [
    path("", views.start, name="start"),
    path("report/", views.report, name="report"),
    path("report/place/", views.report_place, name="report_place"),
    path("report/q/<slug:code>/", views.report_question, name="report_question"),
    path("report/describe/", views.report_describe, name="report_describe"),
    path("report/photo/", views.report_photo, name="report_photo"),
    path("report/check/", views.report_check, name="report_check"),
    path("report/done/<str:reference>/", views.report_done, name="report_done"),
    path("mine/", views.mine, name="mine"),
    path("hotline/", views.hotline, name="hotline"),
    path("orders/<int:pk>/", views.order, name="order"),
    path("orders/<int:pk>/reveal/", views.reveal, name="reveal"),
    path("orders/<int:pk>/<slug:move>/", views.order_move, name="order_move"),
    path("queue/", views.queue, name="queue"),
    path("near/", views.near, name="near"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:pk>/", views.call, name="call"),
    path("rate/<str:key>/", views.rate, name="rate"),
    path("board/", views.boards, name="boards"),
    path("board/<int:node_id>/", views.board, name="board"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.xlsx", views.dashboard_export, name="dashboard_export"),
    path("dashboard/ratings/", views.ratings_page, name="ratings"),
    path("dashboard/ratings/data.json", views.ratings_data, name="ratings_data"),
]
