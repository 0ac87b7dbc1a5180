from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    Activity,
    ActivityType,
    CustomField,
    Lead,
    Opportunity,
    PipelineStage,
    StageChange,
    Task,
)


@admin.register(ActivityType)
class ActivityTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "category"]
    list_filter = ["tenant", "category"]
    search_fields = ["name"]


@admin.register(PipelineStage)
class PipelineStageAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "position"]
    list_filter = ["tenant"]
    search_fields = ["name"]


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "entity", "type"]
    list_filter = ["tenant", "entity", "type"]
    search_fields = ["name"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "tenant", "owner", "status", "created_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["name", "external_id", "email"]
    raw_id_fields = ["owner"]
    date_hierarchy = "created_at"


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["external_id", "tenant", "type", "owner", "status", "occurred_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["external_id"]
    raw_id_fields = ["type", "owner", "lead", "opportunity"]
    date_hierarchy = "occurred_at"


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["subject", "external_id", "tenant", "type", "owner", "status", "due_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["subject", "external_id"]
    raw_id_fields = ["type", "owner", "lead", "opportunity"]
    date_hierarchy = "due_at"


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "external_id",
        "tenant",
        "owner",
        "stage",
        "status",
        "value",
        "currency",
    ]
    list_filter = ["tenant", "status"]
    search_fields = ["name", "external_id"]
    raw_id_fields = ["owner", "lead", "stage"]
    date_hierarchy = "created_at"


@admin.register(StageChange)
class StageChangeAdmin(admin.ModelAdmin):
    list_display = ["opportunity", "tenant", "from_stage", "to_stage", "changed_at", "member"]
    list_filter = ["tenant"]
    raw_id_fields = ["opportunity", "from_stage", "to_stage", "member"]
    date_hierarchy = "changed_at"

    # Stage changes are history written by ingestion; editing one would rewrite the numbers.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StageChange | None = None) -> bool:
        return False
