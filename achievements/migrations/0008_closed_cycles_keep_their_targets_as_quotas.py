"""Closed cycles computed before quotas were stored keep the targets they were closed with:
each final achievement row with a target becomes that cycle's quota, so that recomputing every
cycle (--all-cycles) does not derive them again from today's tree. Set-based, one statement a
tenant, each in its tenant's scope (row-level security on PostgreSQL)."""

from django.db import migrations
from django_scopes import scope

SOURCE = "distribution"
SET_BY = "the target its closed cycle was computed with"


def closed_targets_to_quotas(apps, schema_editor):
    Tenant = apps.get_model("hierarchy", "Tenant")
    Achievement = apps.get_model("achievements", "Achievement")
    Quota = apps.get_model("goals", "Quota")
    quote = schema_editor.connection.ops.quote_name
    columns = ("tenant_id", "goal_id", "rule_id", "member_id", "cycle_index", "cycle_start",
               "cycle_end", "own", "team", "source", "set_by", "set_at")  # fmt: skip
    sql = (
        f"INSERT INTO {quote(Quota._meta.db_table)} ({', '.join(map(quote, columns))}) "
        "SELECT tenant_id, goal_id, rule_id, member_id, cycle_index, cycle_start, cycle_end, "
        f"target, team_target, %s, %s, computed_at FROM {quote(Achievement._meta.db_table)} "
        "WHERE tenant_id = %s AND final = %s AND team_target IS NOT NULL"
    )
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        with scope(tenant=tenant_id), schema_editor.connection.cursor() as cursor:
            cursor.execute(sql, [SOURCE, SET_BY, tenant_id, True])


class Migration(migrations.Migration):
    dependencies = [
        ("achievements", "0007_closed_status_no_target_no_data"),
        ("goals", "0002_quotas_and_equal_per_person"),
    ]

    operations = [migrations.RunPython(closed_targets_to_quotas, migrations.RunPython.noop)]
