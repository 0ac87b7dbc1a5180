from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [path("", views.ruleset_list, name="ruleset_list")]
