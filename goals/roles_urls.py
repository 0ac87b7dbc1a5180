from __future__ import annotations

from django.urls import path

from . import roles_views as views

urlpatterns = [
    path("", views.role_mapping_page, name="role_mapping"),
    path("add/", views.sales_role_add, name="sales_role_add"),
    path("<int:pk>/kpis/", views.role_kpi_add_view, name="role_kpi_add"),
    path("kpis/<int:pk>/activity-types/", views.kpi_activity_types_view, name="kpi_activity_types"),
]
