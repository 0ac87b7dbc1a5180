from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.goal_list, name="goal_list"),
    path("new/", views.goal_wizard, name="goal_new"),
    path("<int:pk>/", views.goal_detail, name="goal_detail"),
    path("<int:pk>/edit/", views.goal_wizard, name="goal_edit"),
    path("<int:pk>/archive/", views.goal_archive_view, name="goal_archive"),
    path("<int:pk>/redistribute/", views.goal_redistribute, name="goal_redistribute"),
]
