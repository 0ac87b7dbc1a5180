from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.organization, name="organization"),
    path("search/", views.member_search, name="member_search"),
    path("managers/", views.member_options, name="member_options"),
    path("import/", views.members_import_view, name="members_import"),
    path("export.csv", views.members_export_view, name="members_export"),
    path("audit/", views.audit_log, name="audit_log"),
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("members/<int:pk>/", views.member_detail, name="member_detail"),
    path("members/<int:pk>/children/", views.member_children, name="member_children"),
    path("members/<int:pk>/add/", views.member_add, name="member_add"),
    path("members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path("members/<int:pk>/move/", views.member_move, name="member_move"),
    path("members/<int:pk>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("members/<int:pk>/reactivate/", views.member_reactivate, name="member_reactivate"),
]
