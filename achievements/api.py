# No `from __future__ import annotations`: django-ninja reads the schemas' annotations at runtime.
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from goals.models import Goal

from .queries import achievement_rows

router = Router()


class AchievementOut(Schema):
    member: str = Field(..., description="The member's email.")
    member_name: str
    rule: str = Field(..., description="The rule's key.")
    rule_name: str
    unit: str
    cycle: str
    cycle_start: date = Field(..., description="The cycle's first local day.")
    cycle_end: date = Field(..., description="The cycle's last local day.")
    value: Decimal | None = Field(
        None, description="The member's own value (a percent ratio is 0-100, not 0-1)."
    )
    target: Decimal | None = Field(None, description="The member's own target, if they hold one.")
    team_value: Decimal | None = Field(None, description="Own plus the whole subtree's.")
    team_target: Decimal | None
    status: str = Field(
        ...,
        description=(
            "achieved, ahead, on_track, behind, missed, or no_target (a tracked metric, a rule "
            "of the goal without a target, or a member who holds none)"
        ),
    )
    final: bool = Field(..., description="The cycle is closed and its numbers frozen.")
    computed_at: datetime


@router.get("/{goal_id}/achievements", response=list[AchievementOut])
def goal_achievements(
    request: HttpRequest,
    goal_id: int,
    cycle_start: date | None = None,
    member: str | None = None,
    rule: str | None = None,
) -> list[dict]:
    """A goal's achievement rows for every member, rule and computed cycle; filter by the cycle
    containing ``cycle_start``, a member's email or a rule key."""
    goal = get_object_or_404(Goal.objects.select_related("tenant"), pk=goal_id)
    rows = achievement_rows(goal, cycle_start=cycle_start, member_email=member, rule_key=rule)
    return [row.__dict__ | {"status": row.status.value} for row in rows]
