from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.ruleset_list, name="ruleset_list"),
    path("new/", views.ruleset_edit, name="ruleset_new"),
    path("<int:pk>/edit/", views.ruleset_edit, name="ruleset_edit"),
    path("<int:pk>/archive/", views.ruleset_archive_view, name="ruleset_archive"),
]

# The builder's partials hang below the page they serve, so an edit's partials answer 404
# for another tenant's ruleset exactly like the page does.
for page, suffix in (("new/", "new"), ("<int:pk>/edit/", "edit")):
    urlpatterns += [
        path(f"{page}rules/", views.rule_new, name=f"rule_new_{suffix}"),
        path(f"{page}rules/<int:index>/", views.rule_card, name=f"rule_card_{suffix}"),
        path(
            f"{page}rules/<int:index>/conditions/",
            views.condition_new,
            name=f"condition_new_{suffix}",
        ),
        path(
            f"{page}rules/<int:index>/conditions/<int:row>/",
            views.condition_row,
            name=f"condition_row_{suffix}",
        ),
        path(
            f"{page}rules/<int:index>/preview/", views.rule_preview, name=f"rule_preview_{suffix}"
        ),
        path(f"{page}presets/", views.preset_cards, name=f"preset_cards_{suffix}"),
    ]
