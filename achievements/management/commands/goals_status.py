from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count
from django.utils import timezone
from django_scopes import scopes_disabled

from achievements.models import Achievement, GoalComputation
from achievements.selectors import goals_to_close
from achievements.services import CLOSE_GRACE

from ._goals import goals_for


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Command(BaseCommand):
    help = "Each live goal: its status, when it was last computed, and work still waiting."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant's goals (slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        goals = goals_for(options["tenant"])
        now = timezone.now()
        ids = [goal.pk for goal in goals]
        with scopes_disabled():
            computations = {c.goal_id: c for c in GoalComputation.objects.filter(goal_id__in=ids)}
            rows = dict(
                Achievement.objects.filter(goal_id__in=ids)
                .values_list("goal_id")
                .annotate(rows=Count("pk"))
                .order_by()
            )
        unclosed = set(goals_to_close(now - CLOSE_GRACE))
        header = f"{'id':>5}  {'tenant':<16} {'goal':<28} {'status':<11} {'cycle':<9} "
        self.stdout.write(header + "computed     rows  waiting")
        for goal in goals:
            computation = computations.get(goal.pk)
            computed = computation.computed_at if computation else None
            waiting = []
            if computation is None or computation.pending:
                waiting.append("recompute")
            if goal.pk in unclosed:
                waiting.append("cycles to close")
            age = f"{_age((now - computed).total_seconds())} ago" if computed else "never"
            self.stdout.write(
                f"{goal.pk:>5}  {goal.tenant.slug[:16]:<16} {goal.name[:28]:<28} "
                f"{goal.status.label:<11} {goal.cycle:<9} {age:<12} {rows.get(goal.pk, 0):>5}  "
                f"{', '.join(waiting) or '-'}"
            )
            if computation is not None and computation.errors:
                failed = f"{_age((now - computation.failed_at).total_seconds())} ago"
                for line in computation.error_lines:
                    self.stdout.write(self.style.ERROR(f"{'':>7}error ({failed}): {line}"))
        in_error = sum(1 for c in computations.values() if c.errors)
        self.stdout.write(
            f"{len(goals)} live goals" + (f", {in_error} in error." if in_error else ".")
        )
