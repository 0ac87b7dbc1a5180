"""KPI templates by title become sales roles: each distinct title a template goal used becomes
a role of its tenant (a name taken in another case gets a number), the goals with that title
hold by the role, and every member whose title matched it exactly is given the role, so every
goal's holders, and so its numbers, stay as they were. One pass a tenant, in its scope (row-
level security on PostgreSQL)."""

import django.db.models.deletion
from django.db import migrations, models
from django_scopes import scope

DESCRIPTION = "Made from the KPI template title {title!r}."


def role_name(title, taken):
    """The title as a role name, numbered when another role has it in any case."""
    name, n = title, 1
    while name.lower() in taken:
        n += 1
        name = f"{title} ({n})"
    taken.add(name.lower())
    return name


def title_templates_to_sales_roles(apps, schema_editor):
    Tenant = apps.get_model("hierarchy", "Tenant")
    SalesRole = apps.get_model("hierarchy", "SalesRole")
    Member = apps.get_model("hierarchy", "Member")
    Goal = apps.get_model("goals", "Goal")
    for tenant_id in Tenant.objects.values_list("pk", flat=True):
        with scope(tenant=tenant_id):
            goals = Goal.objects.filter(tenant_id=tenant_id).exclude(title="")
            titles = sorted(set(goals.values_list("title", flat=True)))
            taken = {n.lower() for n in SalesRole.objects.filter(tenant_id=tenant_id)
                     .values_list("name", flat=True)}  # fmt: skip
            for title in titles:
                role = SalesRole.objects.create(
                    tenant_id=tenant_id,
                    name=role_name(title, taken),
                    description=DESCRIPTION.format(title=title),
                )
                goals.filter(title=title).update(sales_role=role)
                Member.objects.filter(tenant_id=tenant_id, title=title).update(sales_role=role)


class Migration(migrations.Migration):
    dependencies = [
        ("goals", "0002_quotas_and_equal_per_person"),
        ("hierarchy", "0007_sales_roles"),
    ]

    operations = [
        migrations.AddField(
            model_name="goal",
            name="sales_role",
            field=models.ForeignKey(
                blank=True,
                help_text=(
                    "The KPIs of a sales role: every member with the role holds the targets "
                    "in full."
                ),
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="goals",
                to="hierarchy.salesrole",
            ),
        ),
        migrations.RunPython(title_templates_to_sales_roles, migrations.RunPython.noop),
        migrations.RemoveField(model_name="goal", name="title"),
    ]
