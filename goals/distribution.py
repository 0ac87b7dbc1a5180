"""Target distribution arithmetic: splitting a target into exact shares.

Pure standard library, no Django. Every split here is exact: shares are whole multiples of a
quantum (``Decimal("1")`` for counts, ``Decimal("0.01")`` for currency) and add up to the total
with no unit lost or invented. Proportions are computed exactly, in whole numbers, never floats,
and the units left over after rounding every share down go, one each, to the largest remainders
(the largest remainder, or Hamilton, method). Equal remainders are broken by the order of the
keys as given, so the same input always yields the same split.

Bad input raises ``DistributionError`` (a ``ValueError``) whose message can be shown to the user.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Literal, TypeVar

K = TypeVar("K", bound=Hashable)

SplitMethod = Literal["equal", "level", "percentage", "custom"]
_METHODS: tuple[SplitMethod, ...] = ("equal", "level", "percentage", "custom")

COUNT_QUANTUM = Decimal("1")
CURRENCY_QUANTUM = Decimal("0.01")
PERCENTAGE_TOLERANCE = Decimal("0.01")  # three times 33.33% is a fair way to say "a third each"


TAKER = "{taker}"


class DistributionError(ValueError):
    """A split that cannot be made as asked. ``node`` names the parent whose split failed,
    ``taker`` the key of the share at fault (or a list of them), which the message shows as
    its key (a member id) unless the caller names it: ``named()``."""

    def __init__(self, message: str, *, node: object = None, taker: object = None) -> None:
        self.template, self.node, self.taker = message, node, taker
        self.takers = tuple(taker) if isinstance(taker, list) else (taker,)
        super().__init__(self._naming(str))

    def named(self, names: Mapping[Hashable, str]) -> str:
        """The message with the shares' takers called by their names in ``names``."""
        return self._naming(lambda key: str(names.get(key, key)))

    def _naming(self, name: Callable[[object], str]) -> str:
        return self.template.replace(TAKER, ", ".join(name(key) for key in self.takers))


class _Own(Enum):
    OWN = "own"

    def __str__(self) -> str:
        return "own share"


OWN = _Own.OWN
"""The key of a target-holding manager's personal share in the split of their own level."""


def largest_remainder(
    total: Decimal, weights: Mapping[K, Decimal], quantum: Decimal
) -> dict[K, Decimal]:
    """Split ``total`` in proportion to ``weights``, exactly, in multiples of ``quantum``.

    Contract: the shares sum to ``total`` exactly; each is within one quantum of its exact
    proportional value (rounded down, or up by one quantum); a zero weight gets zero; ties go
    to the key given first. ``total`` must be a non-negative multiple of ``quantum``, weights
    non-negative and not all zero.
    """
    units = _units(total, quantum, "The total")
    if not weights:
        raise DistributionError("There is no one to split the total among.")
    ratios = {}
    for key, weight in weights.items():
        _require_non_negative(weight, "The weight of " + TAKER, taker=key)
        ratios[key] = weight.as_integer_ratio()
    # Weights as whole numbers over a common denominator: each exact share is units * w / W,
    # its floor and remainder one integer divmod (Fractions were most of a big tree's cost).
    common = math.lcm(*(denominator for _, denominator in ratios.values()))
    whole = {
        key: numerator * (common // denominator) for key, (numerator, denominator) in ratios.items()
    }
    weight_sum = sum(whole.values())
    if weight_sum == 0:
        raise DistributionError("All weights are zero, so there is no proportion to split by.")
    shares, remainders = {}, {}
    for key, weight in whole.items():
        shares[key], remainders[key] = divmod(units * weight, weight_sum)
    leftover = units - sum(shares.values())
    # sorted() is stable: among equal remainders the caller's key order decides.
    for key in sorted(remainders, key=remainders.__getitem__, reverse=True)[:leftover]:
        shares[key] += 1
    return {key: quantum * count for key, count in shares.items()}


def split_equal(total: Decimal, keys: Sequence[K], quantum: Decimal) -> dict[K, Decimal]:
    """Split ``total`` equally among ``keys``; the first keys get the leftover quanta."""
    if len(set(keys)) != len(keys):
        raise DistributionError("Each member can take only one share of an equal split.")
    return largest_remainder(total, dict.fromkeys(keys, Decimal(1)), quantum)


def split_percentages(
    total: Decimal, percentages: Mapping[K, Decimal], quantum: Decimal
) -> dict[K, Decimal]:
    """Split ``total`` by ``percentages``, which must add up to 100 within 0.01.

    Within the tolerance the percentages are used as proportions, so 33.33% three times still
    hands out the whole total.
    """
    check_percentages(percentages)
    return largest_remainder(total, percentages, quantum)


def check_percentages(percentages: Mapping[Hashable, Decimal]) -> None:
    """Refuse percentages that are negative or do not add up to 100 (within 0.01)."""
    for key, percentage in percentages.items():
        _require_non_negative(percentage, "The percentage for " + TAKER, taker=key)
    added = sum(percentages.values(), Decimal(0))
    missing = Decimal(100) - added
    if abs(missing) > PERCENTAGE_TOLERANCE:
        side = "short of" if missing > 0 else "over"
        raise DistributionError(
            f"Percentages add up to {_plain(added)}%: {_plain(abs(missing))} {side} 100%."
        )


def split_custom(
    total: Decimal, amounts: Mapping[K, Decimal], quantum: Decimal
) -> dict[K, Decimal]:
    """Check custom ``amounts`` against ``total`` and return them.

    Each amount must be a non-negative multiple of ``quantum`` and together they must add up to
    ``total`` exactly: nothing is scaled or rounded to make them fit.
    """
    _units(total, quantum, "The team target")
    shares = {
        key: quantum * _units(amount, quantum, "The amount for " + TAKER, taker=key)
        for key, amount in amounts.items()
    }
    added = sum(shares.values(), Decimal(0))
    if added != total:
        side = "short of" if added < total else "over"
        raise DistributionError(
            f"Custom amounts add up to {_show(added, quantum)}; "
            f"{_show(abs(total - added), quantum)} {side} the team target of "
            f"{_show(total, quantum)}."
        )
    return shares


@dataclass(frozen=True)
class LevelSplit:
    """How one parent's allocation splits among their direct reports (and own share).

    ``shares`` maps each participant to a percentage or a custom amount; it is empty for an
    equal split. A participant is a direct report, or ``OWN`` for the parent's personal share
    when the parent holds a target.

    ``equal`` is equal per person who carries a target: each participant's share is in
    proportion to the targets carried in its subtree (``OWN`` carries one), so a report with a
    team of eight gets eight shares. ``level`` is the older equal split among the direct
    reports, whatever their teams' sizes.
    """

    method: SplitMethod = "equal"
    shares: Mapping[Hashable, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise DistributionError(
                f"Unknown split method {self.method!r}; use one of {', '.join(_METHODS)}."
            )
        if self.method in ("equal", "level") and self.shares:
            raise DistributionError("An equal split takes no shares.")


EQUAL = LevelSplit()


def distribute(
    total: Decimal,
    root: K,
    children: Mapping[K, Sequence[K]],
    methods: Mapping[K, LevelSplit],
    holds_target: Callable[[K], bool] | Collection[K],
    quantum: Decimal,
    *,
    scale_custom: bool = False,
) -> dict[K, Decimal]:
    """Allocate ``total`` down the tree under ``root``; return every node's allocation.

    A node's allocation is the target of its whole subtree (its team target); ``root`` gets
    ``total``. Each parent's allocation is split by ``methods[parent]`` (equal when absent) among
    the participants of its level, in this order:

    - each direct report in ``children[parent]``, in the order given;
    - then ``OWN``, the parent's personal share, if ``holds_target`` says the parent holds one
      (a callable, or a collection of the nodes that do). An equal split counts the parent as
      one more share; a percentage or custom split must give ``OWN`` a share explicitly.

    An ``equal`` level weighs each report by the number of target carriers in its subtree, so
    that a tree split equally at every level gives every carrier the same share (to within a
    quantum); a ``level`` split gives each report the same share whatever its team's size.

    A node with no children always holds its whole allocation as its personal target, since
    otherwise it would be lost; ``holds_target`` only matters for nodes with reports. So when
    managers hold no personal targets, their team target is split among their reports only.

    Invariants: for every parent, the children's allocations plus the parent's own share (if any)
    add up to the parent's allocation exactly; the personal targets (``personal_targets``) of
    all holders add up to ``total`` exactly. Entries of ``methods`` for nodes outside the tree
    or without children are ignored. A failed level raises ``DistributionError`` with ``node``
    set to that parent.

    ``scale_custom``: custom amounts that do not add up to their parent's allocation are used
    as proportions instead of being refused (for a partial cycle, whose allocation is smaller
    than the full cycle's the amounts were set for).
    """
    holds = holds_target if callable(holds_target) else holds_target.__contains__
    _units(total, quantum, "The team target")
    allocations: dict[K, Decimal] = {root: total}
    carriers = _carriers(root, children, holds)
    seen = {root}
    pending = [root]
    while pending:
        parent = pending.pop()
        reports = list(children.get(parent, ()))
        _claim(reports, seen)
        if not reports:
            continue
        participants: list[K | _Own] = [*reports, OWN] if holds(parent) else [*reports]
        try:
            split = _split_level(
                allocations[parent],
                participants,
                methods.get(parent, EQUAL),
                quantum,
                scale_custom,
                {**carriers, OWN: 1},
            )
        except DistributionError as exc:
            raise DistributionError(exc.template, node=parent, taker=exc.taker) from exc
        allocations.update({report: split[report] for report in reports})
        # Reversed so that the result lists nodes in depth-first order of the tree as given.
        pending.extend(reversed(reports))
    return allocations


def _carriers(
    root: K, children: Mapping[K, Sequence[K]], holds: Callable[[K], bool]
) -> dict[K, int]:
    """How many nodes carry a target in each subtree (a node without reports always does)."""
    order, pending, seen = [], [root], {root}
    while pending:
        node = pending.pop()
        order.append(node)
        fresh = [report for report in children.get(node, ()) if report not in seen]
        seen.update(fresh)  # a node met twice is refused by distribute's own walk
        pending.extend(fresh)
    count: dict[K, int] = {}
    for node in reversed(order):  # every node after its reports
        reports = children.get(node, ())
        below = sum(count.get(report, 0) for report in reports)
        count[node] = below + (1 if holds(node) or not reports else 0)
    return count


def _claim(reports: list[K], seen: set[K]) -> None:
    # A node met twice would be allocated twice, and the tree would hand out more than total.
    for report in reports:
        if report in seen:
            raise DistributionError(f"{report} appears more than once in the tree.", node=report)
        seen.add(report)


def _split_level(
    amount: Decimal,
    participants: list[K | _Own],
    split: LevelSplit,
    quantum: Decimal,
    scale_custom: bool = False,
    carriers: Mapping[K | _Own, int] | None = None,
) -> dict[K | _Own, Decimal]:
    if split.method == "equal" and carriers is not None:
        weights = {key: Decimal(carriers.get(key, 0)) for key in participants}
        if any(weights.values()):
            return largest_remainder(amount, weights, quantum)
    if split.method in ("equal", "level"):
        return split_equal(amount, participants, quantum)
    missing = [key for key in participants if key not in split.shares]
    if missing:
        raise DistributionError(
            f"The {split.method} split has no share for {TAKER}.", taker=missing
        )
    expected = set(participants)
    strangers = [key for key in split.shares if key not in expected]
    if strangers:
        raise DistributionError(
            f"The {split.method} split gives shares to {TAKER}, who are not direct reports here.",
            taker=strangers,
        )
    # Reorder to the participants' order so that ties break by the tree's order.
    shares = {key: split.shares[key] for key in participants}
    if split.method == "percentage":
        return split_percentages(amount, shares, quantum)
    if scale_custom and sum(shares.values(), Decimal(0)) != amount:
        if not any(shares.values()):  # nothing to scale: share what there is equally
            return split_equal(amount, participants, quantum)
        return largest_remainder(amount, shares, quantum)
    return split_custom(amount, shares, quantum)


def personal_targets(
    allocations: Mapping[K, Decimal], children: Mapping[K, Sequence[K]]
) -> dict[K, Decimal]:
    """Each node's personal target: its allocation minus its direct reports' allocations.

    Zero for a manager who holds no target; the whole allocation for a node without reports.
    """
    targets: dict[K, Decimal] = {}
    for node, allocation in allocations.items():
        handed_down = sum((allocations[report] for report in children.get(node, ())), Decimal(0))
        targets[node] = allocation - handed_down
    return targets


def phase(
    total: Decimal,
    weights_per_cycle: Sequence[Decimal] | None,
    quantum: Decimal,
    *,
    cycle_count: int | None = None,
) -> list[Decimal]:
    """Phase ``total`` across a goal's cycles, in cycle order, exactly like ``largest_remainder``.

    ``weights_per_cycle`` (seasonality) are proportions, typically percentages; they are not
    required to add up to 100 (callers that ask users for percentages check them with
    ``check_percentages``). ``None`` means even phasing over ``cycle_count`` cycles, in which
    case the earliest cycles get the leftover quanta.
    """
    if weights_per_cycle is None:
        if cycle_count is None or cycle_count < 1:
            raise DistributionError("Even phasing needs the number of cycles (at least one).")
        weights_per_cycle = [Decimal(1)] * cycle_count
    elif cycle_count is not None and cycle_count != len(weights_per_cycle):
        raise DistributionError(
            f"There are {cycle_count} cycles but {len(weights_per_cycle)} phasing weights."
        )
    shares = largest_remainder(total, dict(enumerate(weights_per_cycle)), quantum)
    return list(shares.values())


def _units(amount: Decimal, quantum: Decimal, what: str, *, taker: object = None) -> int:
    """``amount`` as a whole number of quanta, refusing negatives and fractions of a quantum."""
    _require_finite(quantum, "The quantum")
    if quantum <= 0:
        raise DistributionError(f"The quantum must be positive, not {quantum}.")
    _require_non_negative(amount, what, taker=taker)
    (top, bottom), (step, steps) = amount.as_integer_ratio(), quantum.as_integer_ratio()
    units, rest = divmod(top * steps, bottom * step)  # amount / quantum as whole numbers
    if rest:
        raise DistributionError(f"{what} ({amount}) is not a multiple of {quantum}.", taker=taker)
    return units


def _require_non_negative(value: Decimal, what: str, *, taker: object = None) -> None:
    _require_finite(value, what, taker=taker)
    if value < 0:
        raise DistributionError(
            f"{what} is negative ({value}); it must be zero or more.", taker=taker
        )


def _require_finite(value: Decimal, what: str, *, taker: object = None) -> None:
    # Floats would smuggle binary rounding into exact arithmetic; NaN and infinity mean nothing.
    if isinstance(value, float) or not isinstance(value, Decimal | int):
        raise DistributionError(
            f"{what} must be a Decimal, not {type(value).__name__}.", taker=taker
        )
    if isinstance(value, Decimal) and not value.is_finite():
        raise DistributionError(f"{what} must be a number, not {value}.", taker=taker)


def _plain(value: Decimal) -> str:
    """A number without trailing zeros or exponent: 95.50 -> "95.5", 1E+2 -> "100"."""
    return f"{value.normalize():f}"


def _show(value: Decimal, quantum: Decimal) -> str:
    """An amount at the quantum's precision: 950 with cents -> "950.00", a count -> "950"."""
    places = -min(int(quantum.normalize().as_tuple().exponent), 0)
    return f"{value:.{places}f}"
