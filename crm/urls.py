from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("<slug:kind>/", views.record_list, name="record_list"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
]
