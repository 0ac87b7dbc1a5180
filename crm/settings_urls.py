from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("stages/<int:pk>/move/", views.stage_move, name="stage_move"),
    path("working-time/", views.working_time_edit, name="working_time"),
    path("company/", views.company_edit, name="company_settings"),
]
# Each kind's pages by name of their own (stage_edit...), so that a page's pk names one kind.
for kind, spec in views.SETTING_KINDS.items():
    urlpatterns += [
        path(f"{kind}/add/", views.setting_add, {"kind": kind}, name=f"{spec.route}_add"),
        path(
            f"{kind}/<int:pk>/edit/", views.setting_edit, {"kind": kind}, name=f"{spec.route}_edit"
        ),
        path(
            f"{kind}/<int:pk>/delete/",
            views.setting_delete,
            {"kind": kind},
            name=f"{spec.route}_delete",
        ),
    ]
