"""One open reporting line per existing member, from the current tree.

Each line begins at LINES_BEGIN (before any record's moment), not at the member's creation:
CRM history is often imported after the people it belongs to, and those records counted for the
member's team before; they still do. Moves made from now on start new lines when they are made.

On PostgreSQL the members table has a forced row-level security policy, which hides every row
from a session without a tenant (the owner running migrate included): each tenant's lines are
written inside that tenant's scope, which the database backend carries to the session as it
does for the application.
"""

from datetime import UTC, datetime

from django.db import migrations
from django_scopes import scope

LINES_BEGIN = datetime(1969, 12, 31, tzinfo=UTC)  # hierarchy.history.LINES_BEGIN, as of now

INSERT = """
    INSERT INTO hierarchy_reportingline (tenant_id, member_id, reports_to_id, valid_from, valid_to)
    SELECT m.tenant_id, m.id, m.reports_to_id, %s, NULL FROM hierarchy_member m
    WHERE m.tenant_id = %s
      AND NOT EXISTS (SELECT 1 FROM hierarchy_reportingline l
                      WHERE l.member_id = m.id AND l.valid_to IS NULL)
"""


def lines_backfill(apps, schema_editor):
    connection = schema_editor.connection
    begin = connection.ops.adapt_datetimefield_value(LINES_BEGIN)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM hierarchy_tenant ORDER BY id")
        tenants = [tenant for (tenant,) in cursor.fetchall()]
    for tenant in tenants:
        with scope(tenant=tenant), connection.cursor() as cursor:
            cursor.execute(INSERT, [begin, tenant])


class Migration(migrations.Migration):
    dependencies = [("hierarchy", "0005_reporting_line")]

    operations = [migrations.RunPython(lines_backfill, migrations.RunPython.noop, elidable=True)]
