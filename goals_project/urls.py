from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from hierarchy.forms import EmailLoginForm

from . import views
from .api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/set/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/set/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("", include("dashboards.urls")),
    path("", include("dashboards.records_urls")),
    path("goals/", include("goals.urls")),
    path("rulesets/", include("rulesets.urls")),
    path("organization/", include("hierarchy.urls")),
    path("records/", include("crm.urls")),
    path("settings/roles/", include("goals.roles_urls")),
    path("settings/", include("crm.settings_urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

handler500 = "goals_project.views.server_error"
