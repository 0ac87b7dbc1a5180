"""The goal wizard's form: the basics as a Django form, targets and the distribution as named
inputs read into a ``GoalDraft`` (every step's inputs travel in the one form, so nothing is
kept between requests but what the page posts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.http import QueryDict

from core.dates import validate_date_range
from core.formatting import duration_exact, duration_parse
from core.numbers import number_parse
from hierarchy.models import Member, SalesRole
from rulesets.models import GoalRule, Ruleset

from .calendar import CycleKind
from .distribution import split_equal
from .models import Goal, GoalSplit
from .services import AMOUNT_LIMIT, OWN_KEY, GoalDraft, GoalTree, SplitInput, TargetInput

STEPS = ("basics", "targets", "distribution", "review")
METHODS = (
    ("equal", "Equal per person"),
    ("level", "Equal among direct reports"),
    ("percentage", "By percentage"),
    ("custom", "Custom amounts"),
)


class GoalBasicsForm(forms.Form):
    """The wizard's first step; ``default_split`` left out means equal per person."""

    name = forms.CharField(max_length=200)
    ruleset = forms.ModelChoiceField(queryset=Ruleset.objects.none(), empty_label=None)
    team = forms.ModelChoiceField(
        queryset=Member.objects.none(), empty_label=None, help_text="Whose team the goal covers."
    )
    cycle = forms.ChoiceField(choices=[(k.value, k.value.capitalize()) for k in CycleKind])
    start = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_date_range]
    )
    end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_date_range],
        help_text="The last day, inclusive.",
    )
    holders = forms.ChoiceField(
        choices=Goal.Holders.choices, label="Who holds targets", initial=Goal.Holders.REPS
    )
    default_split = forms.ChoiceField(
        choices=Goal.Split.choices,
        label="Split a team's target",
        initial=Goal.Split.EQUAL,
        required=False,
        help_text=(
            "Equal per person gives a manager with eight reps eight shares; the level-by-level "
            "split gives each direct report one share whatever their team's size."
        ),
    )
    backfill = forms.BooleanField(
        required=False, help_text="Start in the past and compute the cycles already gone."
    )
    sales_role = forms.ModelChoiceField(
        queryset=SalesRole.objects.none(),
        required=False,
        label="KPIs of a sales role",
        help_text="Every member with the role holds the targets in full, newcomers included.",
    )

    def clean_default_split(self) -> str:
        return self.cleaned_data.get("default_split") or Goal.Split.EQUAL

    def __init__(self, *args: Any, viewer: Member, locked: set[str] = frozenset(), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["ruleset"].queryset = Ruleset.objects.filter(is_archived=False)
        teams = Member.objects.visible_to(viewer).filter(is_active=True).select_related("user")
        self.fields["team"].queryset = teams.order_by("lft")
        top = viewer.level if not viewer.is_admin else 0
        self.fields["team"].label_from_instance = lambda m: f"{'— ' * (m.level - top)}{m.name}"
        if viewer.is_admin:
            self.fields["sales_role"].queryset = SalesRole.objects.order_by("name")
        else:
            del self.fields["backfill"], self.fields["sales_role"]
        for name in locked:
            if name in self.fields:
                self.fields[name].disabled = True


def _decimal(text: str) -> Decimal | None:
    number = number_parse(text.replace(",", "")) if isinstance(text, str) else None
    return number if number is not None and abs(number) < AMOUNT_LIMIT else None


def _not_a_number(raw: str) -> str:
    return f"{raw!r} is not a number (below {AMOUNT_LIMIT:,})."


@dataclass
class Parsed:
    """What the wizard's inputs say beyond the basics, and what could not be read."""

    targets: dict[str, TargetInput] = field(default_factory=dict)
    splits: list[SplitInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def parse_targets(data: QueryDict, rules: list[GoalRule], parsed: Parsed) -> None:
    """``target-<key>`` (blank: no target) and ``phasing-<key>`` ("25, 25, 50")."""
    for rule in rules:
        raw = data.get(f"target-{rule.key}", "").strip()
        if not raw:
            continue
        if rule.unit == "duration":  # minutes, or hours and minutes: kept in seconds
            amount = duration_parse(raw)
            if amount is None or amount >= AMOUNT_LIMIT:
                parsed.errors[f"targets.{rule.key}"] = (
                    f"{raw!r} is not a duration: write minutes (90) or hours and minutes "
                    "(1 h 30 min)."
                )
                continue
        else:
            amount = _decimal(raw)
        if amount is None:
            parsed.errors[f"targets.{rule.key}"] = _not_a_number(raw)
            continue
        parts = data.get(f"phasing-{rule.key}", "").replace(",", " ").split()
        phasing = [_decimal(part) for part in parts]
        if None in phasing:
            parsed.errors[f"targets.{rule.key}"] = "Phasing takes percentages: 25 25 50."
            continue
        parsed.targets[rule.key] = TargetInput(amount, tuple(phasing))


def parse_splits(
    data: QueryDict, tree: GoalTree, keys: list[str], parsed: Parsed, default: str = "equal"
) -> None:
    """``method-<parent>``; ``share-<parent>-<report|own>`` for percentages and
    ``share-<parent>-<report|own>-<key>`` for custom amounts of each rule. A level split as the
    goal's ``default`` says is not listed."""
    for parent_id, reports in tree.children.items():
        method = data.get(f"method-{parent_id}", default)
        if method not in dict(METHODS):
            method = default
        if method == default:
            continue
        if method in ("equal", "level"):
            parsed.splits.append(SplitInput(tree.members[parent_id], method))
            continue
        parent = tree.members[parent_id]
        takers = [*reports, OWN_KEY]
        per_rule = keys if method == "custom" else [None]
        for key in per_rule:
            shares: dict[int | str, Decimal] = {}
            for taker in takers:
                suffix = f"-{key}" if key else ""
                raw = data.get(f"share-{parent_id}-{taker}{suffix}")
                if raw is None:
                    continue  # "own" appears only when managers hold targets
                number = _decimal(raw) if raw.strip() else Decimal(0)
                if number is None:
                    parsed.errors[f"share-{parent_id}"] = _not_a_number(raw)
                    continue
                shares[taker] = number
            parsed.splits.append(SplitInput(parent, method, shares, key))


def shares_prefilled(data: QueryDict, tree: GoalTree, default: str, own: bool) -> QueryDict:
    """The inputs, with equal percentages (adding up to 100 exactly) for each level just
    switched to a split by percentage: none of its shares posted yet. ``own``: managers hold a
    share of their own."""
    filled = None
    for parent_id, reports in tree.children.items():
        if data.get(f"method-{parent_id}", default) != GoalSplit.Method.PERCENTAGE:
            continue
        names = [f"share-{parent_id}-{taker}" for taker in (*reports, *([OWN_KEY] * own))]
        if any(name in data for name in names):
            continue
        filled = filled or data.copy()
        for name, share in split_equal(Decimal(100), names, Decimal("0.01")).items():
            filled[name] = f"{share.normalize():f}"
    return filled or data


def draft_from(basics: dict[str, Any], parsed: Parsed) -> GoalDraft:
    return GoalDraft(
        name=basics["name"],
        ruleset=basics["ruleset"],
        team=basics["team"],
        cycle=basics["cycle"],
        start=basics["start"],
        end=basics["end"],
        targets=parsed.targets,
        splits=parsed.splits,
        holders=basics["holders"],
        default_split=basics.get("default_split") or Goal.Split.EQUAL,
        sales_role=basics.get("sales_role"),
        backfill=bool(basics.get("backfill")),
    )


def initial_from(goal: Goal) -> tuple[dict[str, Any], dict[str, str]]:
    """The basics and the named inputs of a saved goal, to edit it with the same screens."""
    basics = {
        "name": goal.name,
        "ruleset": goal.ruleset_id,
        "team": goal.team_id,
        "cycle": goal.cycle,
        "start": goal.start,
        "end": goal.end,
        "holders": goal.holders,
        "default_split": goal.default_split,
        "backfill": goal.backfilled,
        "sales_role": goal.sales_role_id,
    }
    inputs: dict[str, str] = {}
    for target in goal.targets.select_related("rule"):
        amount = target.amount
        shown = (
            duration_exact(amount) if target.rule.unit == "duration" else f"{amount.normalize():f}"
        )
        inputs[f"target-{target.rule.key}"] = shown
        if target.phasing:
            inputs[f"phasing-{target.rule.key}"] = " ".join(str(p) for p in target.phasing)
    for split in goal.splits.select_related("rule"):
        inputs[f"method-{split.parent_id}"] = split.method
        for taker, value in split.shares.items():
            suffix = f"-{split.rule.key}" if split.method == "custom" else ""
            inputs[f"share-{split.parent_id}-{taker}{suffix}"] = str(value)
    return basics, inputs
