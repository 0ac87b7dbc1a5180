from __future__ import annotations

from django.contrib import admin
from mptt.admin import MPTTModelAdmin

from .models import Member, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "default_currency", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Member)
class MemberAdmin(MPTTModelAdmin):
    list_display = ["name", "tenant", "role", "title", "is_active"]
    list_filter = ["tenant", "role", "is_active"]
    search_fields = ["name", "user__email"]
    raw_id_fields = ["user", "reports_to"]
    readonly_fields = ["tenant"]

    def has_add_permission(self, request) -> bool:
        # Members are created through the services so the user, tree and tenant agree.
        return False
