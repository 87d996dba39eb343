from django.urls import path

from gongzhi.bulkywaste import views

app_name = "bulkywaste"
urlpatterns = [
    path("", views.start, name="start"),
    path("book/items/", views.book_items, name="book_items"),
    path("book/where/", views.book_where, name="book_where"),
    path("book/when/", views.book_when, name="book_when"),
    path("book/contact/", views.book_contact, name="book_contact"),
    path("book/photos/", views.book_photos, name="book_photos"),
    path("book/check/", views.book_check, name="book_check"),
    path("mine/", views.my_bookings, name="mine"),
    path("b/<str:reference>/", views.booking_detail, name="booking"),
    path("b/<str:reference>/done/", views.booking_done, name="booking_done"),
    path("b/<str:reference>/amend/", views.booking_amend, name="booking_amend"),
    path("b/<str:reference>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("b/<str:reference>/reveal/", views.booking_reveal, name="booking_reveal"),
    path("hotline/", views.hotline, name="hotline"),
    path("compound/", views.compound_booking, name="compound"),
    path("staff/bookings/", views.staff_bookings, name="staff_bookings"),
    path("staff/b/<str:reference>/", views.staff_done, name="staff_done"),
    path("dispatch/", views.dispatch_day, name="dispatch"),
    path("dispatch/plan/", views.dispatch_plan, name="dispatch_plan"),
    path("dispatch/urgent/", views.dispatch_urgent, name="dispatch_urgent"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("crew/", views.crew_today, name="crew"),
    path("crew/stops/<int:pk>/", views.crew_stop, name="crew_stop"),
    path("crew/rounds/<int:pk>/", views.crew_round_action, name="crew_round"),
    path("rate/<str:token>/", views.rate, name="rate"),
    path("report/", views.report_dumping, name="report"),
    path("dumping/", views.dumping_queue, name="dumping"),
    path("dumping/<int:pk>/", views.dumping_detail, name="dumping_detail"),
    path("figures/", views.figures, name="figures"),
    path("figures.xlsx", views.figures_xlsx, name="figures_xlsx"),
]
