"""Every goal rule says whether it is a leading or a lagging indicator, and how its records meet
a cycle (placed in it by a date, or as they stood at its end).

Existing rules are all placed in cycles by a date; each gets the indicator the parser gives a
rule that does not say (``rulesets.spec.indicator_default``: lagging for ratios, deals closed
and leads converted or disqualified, leading for the rest). One pass a tenant, in
its tenant's scope (row-level security on PostgreSQL).
"""

from django.db import migrations, models
from django_scopes import scope

from rulesets.spec import indicator_default

LEADING, LAGGING = "leading", "lagging"
IN_CYCLE = "in_cycle"


def indicators_set(apps, schema_editor):
    Tenant = apps.get_model("hierarchy", "Tenant")
    GoalRule = apps.get_model("rulesets", "GoalRule")
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        with scope(tenant=tenant_id):
            rules = GoalRule.objects.filter(tenant_id=tenant_id)
            found = rules.values("pk", "aggregation", "entity", "date_field")
            ids = [rule["pk"] for rule in found if indicator_default(rule) == LAGGING]
            rules.filter(pk__in=ids).update(indicator=LAGGING)


class Migration(migrations.Migration):
    dependencies = [
        ("hierarchy", "0006_reporting_lines_backfill"),
        ("rulesets", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="goalrule",
            name="indicator",
            field=models.CharField(
                choices=[(LEADING, LEADING), (LAGGING, LAGGING)], default=LEADING, max_length=8
            ),
        ),
        migrations.AddField(
            model_name="goalrule",
            name="mode",
            field=models.CharField(
                choices=[(IN_CYCLE, IN_CYCLE), ("cycle_end", "cycle_end")],
                default=IN_CYCLE,
                max_length=16,
            ),
        ),
        migrations.RunPython(indicators_set, migrations.RunPython.noop),
    ]
