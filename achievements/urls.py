from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.assigned_to_me, name="assigned_to_me"),
    path("team/", views.my_team, name="my_team"),
]
