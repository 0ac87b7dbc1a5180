"""Reading achievements: the rows of a goal as the API, the exports and the pages show them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django_scopes import scope

from core.csvcells import NeutralDictWriter
from goals.calendar import elapsed_fraction
from goals.models import Goal
from hierarchy.models import Member

from .models import Achievement
from .pace import Pace, rule_pace

EXPORT_FIELDS = (
    "member",
    "member_name",
    "rule",
    "rule_name",
    "cycle",
    "cycle_start",
    "cycle_end",
    "value",
    "target",
    "team_value",
    "team_target",
    "status",
    "final",
)


@dataclass(frozen=True)
class AchievementRow:
    member: str  # email
    member_name: str
    rule: str  # key
    rule_name: str
    unit: str
    cycle: str  # label, e.g. "March 2027"
    cycle_start: date  # the tenant's local dates, both inclusive
    cycle_end: date
    value: Decimal | None
    target: Decimal | None
    team_value: Decimal | None
    team_target: Decimal | None
    status: Pace
    final: bool
    computed_at: datetime

    def export(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return {name: data[name] for name in EXPORT_FIELDS}


def row_status(row: Achievement, *, elapsed: float) -> Pace:
    """A row's status from its team value (a rep's team is themselves) and team target."""
    return rule_pace(row.rule, row.team_value, row.team_target, elapsed, final=row.final)


def achievement_rows(
    goal: Goal,
    *,
    cycle_start: date | None = None,
    member_email: str | None = None,
    rule_key: str | None = None,
    within: Member | None = None,
    now: datetime | None = None,
) -> list[AchievementRow]:
    """The goal's achievement rows, by cycle, rule and tree order; one query.

    ``cycle_start`` picks the cycle containing that local date; ``within`` keeps the rows of
    that member's team (a manager's part of a goal set above them)."""
    now = now or timezone.now()
    goal_cycles = goal.cycles()
    with scope(tenant=goal.tenant_id):
        rows = Achievement.objects.filter(goal=goal).select_related("member__user", "rule")
        if cycle_start is not None:
            index = next(
                (c.index for c in goal_cycles if c.local_start <= cycle_start < c.local_end), None
            )
            rows = rows.filter(cycle_index=index) if index is not None else rows.none()
        if member_email:
            rows = rows.filter(member__user__email__iexact=member_email)
        if rule_key:
            rows = rows.filter(rule__key=rule_key)
        if within is not None:
            rows = rows.filter(within.subtree_q("member"))
        rows = rows.order_by("cycle_index", "rule__position", "member__lft")
        found = []
        for row in rows:
            cycle = goal_cycles[row.cycle_index]
            found.append(
                AchievementRow(
                    member=row.member.user.email,
                    member_name=row.member.name,
                    rule=row.rule.key,
                    rule_name=row.rule.name,
                    unit=row.rule.unit,
                    cycle=cycle.label,
                    cycle_start=cycle.local_start,
                    cycle_end=cycle.local_end - timedelta(days=1),
                    value=row.value,
                    target=row.target,
                    team_value=row.team_value,
                    team_target=row.team_target,
                    status=row_status(row, elapsed=elapsed_fraction(cycle, now)),
                    final=row.final,
                    computed_at=row.computed_at,
                )
            )
    return found


def write_rows(
    rows: list[dict[str, Any]], file: TextIO, fmt: str, fields: Sequence[str] = EXPORT_FIELDS
) -> None:
    if fmt == "json":
        json.dump(rows, file, cls=DjangoJSONEncoder, indent=1)
        file.write("\n")
        return
    writer = NeutralDictWriter(file, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
