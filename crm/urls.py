from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("<slug:kind>/", views.record_list, name="record_list"),
    path("<slug:kind>/<int:pk>/", views.record_page, name="record_page"),
]
