"""Writes to rulesets: every rule is checked against the catalogue before anything is saved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django_scopes import scope

from core.lengths import too_long
from crm.models import ActivityType, CustomField, PipelineStage, Task
from hierarchy.audit import audit_record
from hierarchy.models import Tenant
from hierarchy.services import Actor

from .catalogue import CustomFieldDecl, Vocabulary
from .compiler import RuleNotCompiled, rule_check
from .models import GoalRule, Ruleset
from .signals import ruleset_saved
from .spec import Aggregation, RuleProblem, RulesetError, RuleSpec, ruleset_parse


def tenant_vocabulary(tenant: Tenant) -> tuple[list[CustomFieldDecl], dict[Vocabulary, set[str]]]:
    """The tenant's declared custom fields and the names its rules may use as choices."""
    with scope(tenant=tenant):
        custom = [
            CustomFieldDecl(f.entity, f.name, f.type, tuple(f.choices))
            for f in CustomField.objects.all()
        ]
        types = list(ActivityType.objects.values_list("name", "category"))
        vocab = {
            Vocabulary.ACTIVITY_TYPES: {name for name, _ in types},
            Vocabulary.TASK_TYPES: {name for name, kind in types if kind in Task.TYPE_CATEGORIES},
            Vocabulary.STAGES: set(PipelineStage.objects.values_list("name", flat=True)),
        }
    return custom, vocab


def rules_parse(
    *,
    tenant: Tenant,
    rules: Any,
    custom: list[CustomFieldDecl] | None = None,
    vocab: dict[Vocabulary, set[str]] | None = None,
) -> list[RuleSpec]:
    """Check rules as the tenant would use them (its fields, names, currency and time zone).

    ``custom`` and ``vocab``: the tenant's, when the caller has them already."""
    if custom is None or vocab is None:
        custom, vocab = tenant_vocabulary(tenant)
    long_names = [
        RuleProblem(str(raw.get("key") or f"#{position}"), "name", f"the name {problem}")
        for position, raw in enumerate(rules if isinstance(rules, list) else [])
        if isinstance(raw, Mapping) and (problem := too_long(GoalRule, "name", raw.get("name")))
    ]
    try:
        specs = ruleset_parse(
            rules,
            custom=custom,
            vocab=vocab,
            default_currency=tenant.default_currency,
            time_zone=tenant.time_zone,
        )
    except RulesetError as exc:
        raise RulesetError(exc.problems + long_names) from None
    if long_names:
        raise RulesetError(long_names)
    return specs


def rule_specs(
    *,
    tenant: Tenant,
    rules: Iterable[GoalRule],
    custom: list[CustomFieldDecl] | None = None,
    vocab: dict[Vocabulary, set[str]] | None = None,
) -> tuple[dict[str, RuleSpec], dict[str, str]]:
    """Saved rules as specs by key, as the tenant reads them now (the one place that turns a
    goal's rules into specs), and the reason of each that no longer parses (a field or a name
    removed since the ruleset was saved): those are left out, and so are the ratios over
    them, while the rest are given."""
    raw = [rule.definition() for rule in rules]
    failed: dict[str, str] = {}
    while True:
        for definition in raw:
            broken = [definition.get(part) for part in ("numerator", "denominator")]
            if key := next((key for key in broken if key in failed), None):
                failed[definition["key"]] = part_failed(key, failed[key])
        raw = [definition for definition in raw if definition["key"] not in failed]
        try:
            parsed = rules_parse(tenant=tenant, rules=raw, custom=custom, vocab=vocab)
        except RulesetError as exc:
            for problem in exc.problems:
                failed.setdefault(problem.key, f"{problem.field}: {problem.message}")
            continue
        return {spec.key: spec for spec in parsed}, failed


def ratio_parts(rules: Iterable[GoalRule]) -> set[str]:
    """The keys of the rules that some ratio of ``rules`` reads as its numerator or
    denominator."""
    return {key for rule in rules for key in (rule.numerator, rule.denominator) if key}


def part_failed(key: str, reason: str) -> str:
    """Why a ratio is not computed: the part it reads is not."""
    return f"its rule {key!r} could not be computed: {reason}"


def rules_compile(*, tenant: Tenant, rules: Any) -> list[RuleSpec]:
    """``rules_parse``, then every counted rule run once on the database in use (over no
    member): a rule the catalogue accepts but the database cannot compute is refused now,
    with its key and the part at fault, instead of failing every recompute later."""
    custom, vocab = tenant_vocabulary(tenant)
    specs = rules_parse(tenant=tenant, rules=rules, custom=custom, vocab=vocab)
    problems = _names_repeated(specs)
    for spec in specs:
        if spec.aggregation == Aggregation.RATIO:
            continue
        try:
            rule_check(spec, tenant=tenant, custom=custom)
        except RuleNotCompiled as exc:
            problems.append(RuleProblem(spec.key, exc.field, exc.message))
    if problems:
        raise RulesetError(problems)
    return specs


def _names_repeated(specs: list[RuleSpec]) -> list[RuleProblem]:
    """A rule named like another of the ruleset (in any case): dashboards, the wizard and the
    builder's ratio parts tell rules apart by name. Checked on save only, so a ruleset saved
    before keeps computing."""
    first: dict[str, str] = {}
    problems = []
    for spec in specs:
        name = spec.name.strip().casefold()
        if name in first:
            message = f"the name {spec.name!r} is the name of the rule {first[name]!r} too"
            problems.append(RuleProblem(spec.key, "name", message))
        first.setdefault(name, spec.key)
    return problems


def _snapshot(ruleset: Ruleset) -> dict[str, Any]:
    return {
        "name": ruleset.name,
        "description": ruleset.description,
        "rules": [rule.definition() for rule in ruleset.rules.order_by("position")],
    }


def ruleset_save(
    *,
    tenant: Tenant,
    name: str,
    rules: Any,
    description: str = "",
    ruleset: Ruleset | None = None,
    actor: Actor = None,
) -> Ruleset:
    """Create a ruleset, or replace an existing one's name, description and rules.

    Rules are matched by key: a kept key updates its rule in place (goals that use it keep
    it), a new key adds a rule, a missing key removes one. Raises RulesetError listing every
    problem of every rule, or ValidationError for the name; nothing is written then.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A ruleset needs a name."})
    if problem := too_long(Ruleset, "name", name):
        raise ValidationError({"name": f"The name {problem}."})
    if rules == []:  # as the builder says when no rule card is posted
        raise ValidationError({"rules": "Add at least one rule."})
    specs = rules_compile(tenant=tenant, rules=rules)
    raw_by_key = {raw["key"]: raw for raw in rules}
    with transaction.atomic(), scope(tenant=tenant):
        taken = Ruleset.objects.filter(name__iexact=name)
        if ruleset is not None:
            taken = taken.exclude(pk=ruleset.pk)
        if taken.exists():
            raise ValidationError({"name": f"There is already a ruleset called {name!r}."})
        before = _snapshot(ruleset) if ruleset is not None else None
        if ruleset is None:
            ruleset = Ruleset.objects.create(tenant=tenant, name=name, description=description)
        else:
            ruleset.name, ruleset.description = name, description
            ruleset.save(update_fields=["name", "description", "updated_at"])
        try:
            ruleset.rules.exclude(key__in=raw_by_key).delete()
        except ProtectedError as exc:
            raise ValidationError({"rules": _in_use("A removed rule", exc)}) from exc
        for position, spec in enumerate(specs):
            GoalRule.objects.update_or_create(
                ruleset=ruleset,
                key=spec.key,
                defaults={
                    "tenant": tenant,
                    "name": spec.name,
                    "position": position,
                    "entity": spec.entity or "",
                    "aggregation": spec.aggregation,
                    "field": spec.field or "",
                    "date_field": spec.date_field or "",
                    "member_field": spec.member_field or "",
                    "unit": spec.unit,
                    "currency": spec.currency or "",
                    "direction": spec.direction,
                    "conditions": raw_by_key[spec.key].get("conditions") or [],
                    "numerator": spec.numerator or "",
                    "denominator": spec.denominator or "",
                    "indicator": spec.indicator,
                    "mode": spec.mode,
                },
            )
        audit_record(
            tenant=tenant,
            actor=actor,
            action="ruleset.create" if before is None else "ruleset.edit",
            target=ruleset,
            before=before,
            after=_snapshot(ruleset),
        )
        saved = ruleset
        transaction.on_commit(
            lambda: ruleset_saved.send(sender=Ruleset, ruleset=saved), robust=True
        )
    return ruleset


def _in_use(what: str, exc: ProtectedError) -> str:
    """Name the goals that keep a rule or ruleset (the goals app protects what it uses)."""
    goals = sorted({str(getattr(obj, "goal", obj)) for obj in exc.protected_objects})
    shown = ", ".join(repr(name) for name in goals[:5]) + (" and more" if len(goals) > 5 else "")
    return (
        f"{what} is used by goals ({shown}), which keep their history: archive the ruleset "
        "instead (new goals can no longer pick it)."
    )


def ruleset_archive(*, ruleset: Ruleset, archived: bool = True, actor: Actor = None) -> Ruleset:
    """Take a ruleset out of (or back into) the wizard's choices; goals using it keep it."""
    with transaction.atomic(), scope(tenant=ruleset.tenant):
        before = {"archived": ruleset.is_archived}
        ruleset.is_archived = archived
        ruleset.save(update_fields=["is_archived", "updated_at"])
        audit_record(
            tenant=ruleset.tenant,
            actor=actor,
            action="ruleset.archive" if archived else "ruleset.restore",
            target=ruleset,
            before=before,
            after={"archived": archived},
        )
    return ruleset


def ruleset_delete(*, ruleset: Ruleset, actor: Actor = None) -> None:
    """Delete a ruleset and its rules; refused (ValidationError) while goals use it."""
    with transaction.atomic(), scope(tenant=ruleset.tenant):
        audit_record(
            tenant=ruleset.tenant,
            actor=actor,
            action="ruleset.delete",
            target=ruleset,
            before=_snapshot(ruleset),
        )
        try:
            ruleset.delete()
        except ProtectedError as exc:
            raise ValidationError({"ruleset": _in_use("This ruleset", exc)}) from exc
