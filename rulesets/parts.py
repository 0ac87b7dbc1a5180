"""What a counted rule's value is made of, and the value from it: what the engine computes.

A rule's records in one member's cycle reduce to parts (a count, a total, a minimum, a maximum,
the distinct values); cycles and teams combine by merging parts, never values, so that a team's
average is its total over its count and a ratio is sum over sum. Pure, no Django. The reference
evaluator (``reference.py``) computes values its own way, so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal

from .spec import Aggregation


@dataclass
class Parts:
    """What a member's value in one cycle is made of; roll-ups combine parts, never values."""

    count: int = 0
    total: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    distinct: set[Hashable] = field(default_factory=set)

    def merge(self, other: Parts) -> None:
        """Fold another group's parts in (a finer bucket, or a member of the team)."""
        self.count += other.count
        self.total += other.total
        for name, pick in (("minimum", min), ("maximum", max)):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(
                self,
                name,
                theirs if mine is None else mine if theirs is None else pick(mine, theirs),
            )
        self.distinct |= other.distinct

    def value(self, aggregation: Aggregation) -> Decimal | None:
        return aggregate(
            aggregation, self.count, self.total, self.minimum, self.maximum, len(self.distinct)
        )


def aggregate(
    aggregation: Aggregation,
    count: int,
    total: Decimal,
    minimum: Decimal | None,
    maximum: Decimal | None,
    distinct: int,
) -> Decimal | None:
    """A counted rule's value from its parts (``distinct``: how many different values)."""
    match aggregation:
        case Aggregation.COUNT:
            return Decimal(count)
        case Aggregation.SUM:
            return total
        case Aggregation.AVERAGE:
            return total / count if count else None
        case Aggregation.MIN:
            return minimum
        case Aggregation.MAX:
            return maximum
        case Aggregation.DISTINCT_COUNT:
            return Decimal(distinct)
    raise ValueError(f"{aggregation} is not computed from one rule's records")


def ratio_value(
    numerator: Decimal | None, denominator: Decimal | None, *, percent: bool
) -> Decimal | None:
    """A ratio from its sides: None without a denominator (no data), else their quotient (in
    percent for a rule whose unit is percent)."""
    if not denominator or numerator is None:
        return None
    return numerator / denominator * 100 if percent else numerator / denominator
