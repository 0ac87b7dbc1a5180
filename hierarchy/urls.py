from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.organization, name="organization"),
    path("members/<int:pk>/", views.member_detail, name="member_detail"),
]
