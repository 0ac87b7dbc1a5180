from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.assigned_to_me, name="assigned_to_me"),
    path("team/", views.my_team, name="my_team"),
    path("team/member/<int:pk>/", views.member_goals, name="member_goals"),
    path("goals/<int:pk>/progress/", views.goal_progress, name="goal_progress"),
    path("goals/<int:pk>/achievements.csv", views.goal_export, name="goal_export"),
    path("overview/", views.company_overview, name="company_overview"),
    path("customers/", views.customers, name="customers"),
]
