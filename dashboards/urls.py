from __future__ import annotations

from django.urls import path

from . import audience_views, views

urlpatterns = [
    path("me/", views.assigned_to_me, name="assigned_to_me"),
    path("team/", views.my_team, name="my_team"),
    path("team/member/<int:pk>/", views.member_goals, name="member_goals"),
    path("goals/<int:pk>/progress/", views.goal_progress, name="goal_progress"),
    path("goals/<int:pk>/achievements.csv", views.goal_export, name="goal_export"),
    path("overview/", views.company_overview, name="company_overview"),
    path("customers/", views.customers, name="customers"),
    path("dashboards/", audience_views.dashboard_first, name="dashboard_first"),
    path("dashboards/<int:pk>/", audience_views.audience_dashboard, name="audience_dashboard"),
    path("dashboards/manage/", audience_views.dashboard_manage, name="dashboard_manage"),
    path("dashboards/<int:pk>/edit/", audience_views.dashboard_edit, name="dashboard_edit"),
    path(
        "dashboards/manage/split-fields/",
        audience_views.dashboard_split_fields,
        name="dashboard_split_fields",
    ),
    path("dashboards/<int:pk>/remove/", audience_views.dashboard_remove, name="dashboard_remove"),
]
