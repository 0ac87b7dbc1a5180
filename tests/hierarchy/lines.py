"""What every path that writes the tree must leave behind: reporting lines whose state now is
the tree, one open line per member, and no member with two lines at one moment."""

from __future__ import annotations

from django_scopes import scope

from hierarchy.models import Member, ReportingLine, Tenant


def assert_lines_match_the_tree(tenant: Tenant | int) -> None:
    with scope(tenant=tenant):
        tree = dict(Member.objects.values_list("pk", "reports_to_id"))
        lines = list(
            ReportingLine.objects.order_by("member_id", "valid_from").values_list(
                "member_id", "reports_to_id", "valid_from", "valid_to"
            )
        )
    still = {member: manager for member, manager, _since, until in lines if until is None}
    assert still == tree
    for (member, _m, _since, until), (next_member, _n, next_since, _u) in zip(
        lines, lines[1:], strict=False
    ):
        if member == next_member:
            assert until is not None and until <= next_since  # one line at a time
