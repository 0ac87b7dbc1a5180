from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("<slug:kind>/add/", views.setting_add, name="setting_add"),
    path("<slug:kind>/<int:pk>/edit/", views.setting_edit, name="setting_edit"),
    path("<slug:kind>/<int:pk>/delete/", views.setting_delete, name="setting_delete"),
]
