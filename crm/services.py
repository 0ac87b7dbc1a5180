"""What a tenant's records may name: activity types, the ordered pipeline, custom fields.

One definition for every path that declares them (the Settings pages, the settings API and
``manage.py declare_settings``): each service validates through the model's ``full_clean``
(names unique in any case, the rules of a custom field), raises a ValidationError keyed by the
field it is about, writes an audit entry, and runs in one transaction. Something that records
use is never deleted: the ValidationError says what uses it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError, Q
from django_scopes import scope

from hierarchy.audit import audit_change, audit_record
from hierarchy.models import Member, Tenant

from .models import (
    ENTITY_MODELS,
    ActivityType,
    CustomField,
    Opportunity,
    PipelineStage,
    StageChange,
)

Actor = Member | str


def _saved(instance: models.Model) -> None:
    """Validate and save; a clash of names (a unique constraint) is the name's problem."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        if clashes := errors.pop(NON_FIELD_ERRORS, None):
            errors["name"] = errors.get("name", []) + clashes
        raise ValidationError(errors) from None
    instance.save()


def activity_type_snapshot(activity_type: ActivityType) -> dict[str, Any]:
    return {"name": activity_type.name, "category": activity_type.category}


def custom_field_snapshot(custom_field: CustomField) -> dict[str, Any]:
    return {
        "entity": custom_field.entity,
        "name": custom_field.name,
        "type": custom_field.type,
        "choices": list(custom_field.choices),
    }


@transaction.atomic
def activity_type_create(*, tenant: Tenant, name: str, category: str, actor: Actor) -> ActivityType:
    activity_type = ActivityType(tenant=tenant, name=name.strip(), category=category)
    _saved(activity_type)
    after = activity_type_snapshot(activity_type)
    audit_record(
        tenant=tenant, actor=actor, action="activity_type.create", target=activity_type, after=after
    )
    return activity_type


@transaction.atomic
def activity_type_update(
    *, activity_type: ActivityType, name: str, category: str, actor: Actor
) -> ActivityType:
    """Rename or recategorize a type; its activities follow (they point at the type)."""
    before = activity_type_snapshot(activity_type)
    activity_type.name, activity_type.category = name.strip(), category
    after = activity_type_snapshot(activity_type)
    if audit_change(
        tenant=activity_type.tenant,
        actor=actor,
        action="activity_type.update",
        target=activity_type,
        before=before,
        after=after,
    ):
        _saved(activity_type)
    return activity_type


@transaction.atomic
def activity_type_delete(*, activity_type: ActivityType, actor: Actor) -> None:
    used = activity_type.activities.count()
    if used:
        raise ValidationError(
            {"name": f"{used} activities are of the type {activity_type.name}: it stays."}
        )
    audit_record(
        tenant=activity_type.tenant,
        actor=actor,
        action="activity_type.delete",
        target=activity_type,
        before=activity_type_snapshot(activity_type),
    )
    activity_type.delete()


def _stage_uses(stage: PipelineStage) -> int:
    opportunities = Opportunity.objects.filter(stage=stage).count()
    changes = StageChange.objects.filter(Q(from_stage=stage) | Q(to_stage=stage)).count()
    return opportunities + changes


def _pipeline(tenant: Tenant) -> list[PipelineStage]:
    return list(PipelineStage.objects.filter(tenant=tenant).order_by("position", "name"))


def _labels(tenant: Tenant) -> list[str]:
    """The pipeline as the audit log shows it: names in order, with won and lost marked."""
    return [stage.label for stage in _pipeline(tenant)]


def _stages_audited(tenant: Tenant, actor: Actor, before: list[str]) -> list[str]:
    """Audit the change from the labels ``before``; the stage names after, in order."""
    pipeline = _pipeline(tenant)
    audit_change(
        tenant=tenant,
        actor=actor,
        action="stages.set",
        target=tenant,
        before={"stages": before},
        after={"stages": [stage.label for stage in pipeline]},
    )
    return [stage.name for stage in pipeline]


@transaction.atomic
def stages_set(
    *,
    tenant: Tenant,
    names: Sequence[str],
    actor: Actor,
    outcomes: Mapping[str, str] | None = None,
) -> list[str]:
    """Make the pipeline these stages, in this order. Existing stages are kept (matched by
    name, in any case; a different spelling renames) and renumbered; a stage left out is
    deleted, unless records or stage changes use it (then nothing changes). ``outcomes`` maps
    a stage's name to won, lost or open (a stage it leaves out is open); without it, kept
    stages keep theirs."""
    names = [name.strip() for name in names]
    if not names or not all(names) or len({name.lower() for name in names}) != len(names):
        raise ValidationError({"stages": "Stage names must be non-empty and different."})
    wanted = None
    if outcomes is not None:
        wanted = {name.strip().lower(): outcome for name, outcome in outcomes.items()}
        if strays := sorted(set(wanted) - {name.lower() for name in names}):
            message = f"Won or lost is said of {', '.join(strays)}, which the list does not name."
            raise ValidationError({"stages": message})
    existing = {stage.name.lower(): stage for stage in _pipeline(tenant)}
    before = [stage.label for stage in existing.values()]
    for position, name in enumerate(names):
        stage = existing.pop(name.lower(), None) or PipelineStage(tenant=tenant)
        outcome = stage.outcome if wanted is None else wanted.get(name.lower(), "open")
        if (stage.name, stage.position, stage.outcome) != (name, position, outcome):
            stage.name, stage.position, stage.outcome = name, position, outcome
            try:
                _saved(stage)
            except ValidationError as exc:
                raise ValidationError({"stages": [f"{name}: {m}" for m in exc.messages]}) from None
    if used := sorted(stage.name for stage in existing.values() if _stage_uses(stage)):
        message = f"Records use the stage(s) {', '.join(used)}: keep them in the list."
        raise ValidationError({"stages": message})
    for stage in existing.values():
        stage.delete()
    return _stages_audited(tenant, actor, before)


@transaction.atomic
def stage_create(
    *, tenant: Tenant, name: str, actor: Actor, outcome: str | None = None
) -> PipelineStage:
    """Add a stage at the end of the pipeline."""
    pipeline = _pipeline(tenant)
    before = [stage.label for stage in pipeline]
    position = pipeline[-1].position + 1 if pipeline else 0
    stage = PipelineStage(tenant=tenant, name=name.strip(), position=position)
    stage.outcome = outcome or stage.outcome
    _saved(stage)
    _stages_audited(tenant, actor, before)
    return stage


@transaction.atomic
def stage_update(
    *, stage: PipelineStage, name: str, actor: Actor, outcome: str | None = None
) -> PipelineStage:
    """Rename a stage, or mark it won, lost or open; its opportunities and stage changes
    follow."""
    before = _labels(stage.tenant)
    stage.name = name.strip()
    if outcome is not None:
        stage.outcome = outcome
    _saved(stage)
    _stages_audited(stage.tenant, actor, before)
    return stage


@transaction.atomic
def stage_move(*, stage: PipelineStage, offset: int, actor: Actor) -> PipelineStage:
    """Move a stage ``offset`` places later (earlier when negative), within the pipeline."""
    pipeline = _pipeline(stage.tenant)
    before = [s.label for s in pipeline]
    index = next(i for i, s in enumerate(pipeline) if s.pk == stage.pk)
    pipeline.insert(max(0, min(len(pipeline) - 1, index + offset)), pipeline.pop(index))
    for position, each in enumerate(pipeline):
        if each.position != position:
            each.position = position
            each.save(update_fields=["position"])
    _stages_audited(stage.tenant, actor, before)
    return stage


@transaction.atomic
def stage_delete(*, stage: PipelineStage, actor: Actor) -> None:
    if used := _stage_uses(stage):
        raise ValidationError(
            {"name": f"{used} opportunities or stage changes use the stage {stage.name}: it stays."}
        )
    before = _labels(stage.tenant)
    try:
        stage.delete()
    except ProtectedError:  # a row written since the count
        raise ValidationError({"name": f"Records use the stage {stage.name}: it stays."}) from None
    _stages_audited(stage.tenant, actor, before)


def _custom_field_uses(custom_field: CustomField) -> int:
    model = ENTITY_MODELS[custom_field.entity]
    return model.objects.filter(
        tenant=custom_field.tenant, attributes__has_key=custom_field.name
    ).count()


@transaction.atomic
def custom_field_create(
    *,
    tenant: Tenant,
    entity: str,
    name: str,
    type: str,
    choices: Sequence[str],
    actor: Actor,
) -> CustomField:
    custom_field = CustomField(
        tenant=tenant, entity=entity, name=name.strip(), type=type, choices=list(choices)
    )
    _saved(custom_field)
    audit_record(
        tenant=tenant,
        actor=actor,
        action="custom_field.create",
        target=custom_field,
        after=custom_field_snapshot(custom_field),
    )
    return custom_field


@transaction.atomic
def custom_field_update(
    *,
    custom_field: CustomField,
    type: str,
    choices: Sequence[str],
    actor: Actor,
) -> CustomField:
    """Change a field's type or choices. Its entity and name are what records carry, so they
    stay; the type stays too once records carry values of it."""
    before = custom_field_snapshot(custom_field)
    if type != custom_field.type and (used := _custom_field_uses(custom_field)):
        raise ValidationError(
            {"type": f"{used} records carry a value of {custom_field.name}: its type stays."}
        )
    custom_field.type, custom_field.choices = type, list(choices)
    after = custom_field_snapshot(custom_field)
    if audit_change(
        tenant=custom_field.tenant,
        actor=actor,
        action="custom_field.update",
        target=custom_field,
        before=before,
        after=after,
    ):
        _saved(custom_field)
    return custom_field


@transaction.atomic
def custom_field_delete(*, custom_field: CustomField, actor: Actor) -> None:
    if used := _custom_field_uses(custom_field):
        raise ValidationError(
            {"name": f"{used} records carry a value of {custom_field.name}: it stays."}
        )
    audit_record(
        tenant=custom_field.tenant,
        actor=actor,
        action="custom_field.delete",
        target=custom_field,
        before=custom_field_snapshot(custom_field),
    )
    custom_field.delete()


@dataclass(frozen=True)
class Declared:
    """One entry of a settings file: where it is ("line 3", "custom_fields entry 2") and its
    values: a stage's ``name`` and ``outcome``; an activity type's ``name`` and ``category``;
    a custom field's ``entity``, ``name``, ``type`` and ``choices``."""

    where: str
    values: dict[str, Any]


class SettingsInvalid(Exception):
    """Nothing was declared: these problems, each naming its entry, stand in the way."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class DeclareResult:
    pipeline: list[str] = field(default_factory=list)  # empty when none was declared
    pipeline_changed: bool = False
    activity_types: Counter[str] = field(default_factory=Counter)  # created, updated, unchanged
    custom_fields: Counter[str] = field(default_factory=Counter)


def _problems(where: str, exc: ValidationError) -> list[str]:
    return [
        f"{where}: {name} {message}" if name != NON_FIELD_ERRORS else f"{where}: {message}"
        for name, messages in exc.message_dict.items()
        for message in messages
    ]


def _repeats(entries: Sequence[Declared], key: Callable[[dict[str, Any]], tuple]) -> list[str]:
    """An entry that names again what an earlier one declared: which should win is a guess."""
    first: dict[tuple, str] = {}
    problems = []
    for entry in entries:
        if (seen := first.setdefault(key(entry.values), entry.where)) != entry.where:
            problems.append(f"{entry.where}: repeats {seen}")
    return problems


def _tally(counts: Counter[str], before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    counts["created" if before is None else "updated" if before != after else "unchanged"] += 1


def _pipeline_declare(
    tenant: Tenant, entries: Sequence[Declared], actor: Actor, result: DeclareResult
) -> list[str]:
    before = _labels(tenant)
    names = [entry.values["name"] for entry in entries]
    outcomes = {entry.values["name"]: entry.values["outcome"] for entry in entries}
    try:
        result.pipeline = stages_set(tenant=tenant, names=names, actor=actor, outcomes=outcomes)
    except ValidationError as exc:
        return _problems(f"{entries[0].where} to {entries[-1].where}", exc)
    result.pipeline_changed = _labels(tenant) != before
    return []


def _activity_types_declare(
    tenant: Tenant, entries: Sequence[Declared], actor: Actor, counts: Counter[str]
) -> list[str]:
    problems: list[str] = []
    types = {row.name.lower(): row for row in ActivityType.objects.filter(tenant=tenant)}
    for entry in entries:
        row = types.get(entry.values["name"].strip().lower())
        before = None if row is None else activity_type_snapshot(row)
        try:
            if row is None:
                row = activity_type_create(tenant=tenant, actor=actor, **entry.values)
            else:
                activity_type_update(activity_type=row, actor=actor, **entry.values)
        except ValidationError as exc:
            problems += _problems(entry.where, exc)
        else:
            _tally(counts, before, activity_type_snapshot(row))
    return problems


def _custom_fields_declare(
    tenant: Tenant, entries: Sequence[Declared], actor: Actor, counts: Counter[str]
) -> list[str]:
    problems: list[str] = []
    fields = {(f.entity, f.name): f for f in CustomField.objects.filter(tenant=tenant)}
    for entry in entries:
        values = dict(entry.values)
        row = fields.get((values["entity"], values["name"].strip()))
        before = None if row is None else custom_field_snapshot(row)
        try:
            if row is None:
                row = custom_field_create(tenant=tenant, actor=actor, **values)
            else:
                del values["entity"], values["name"]  # what records carry: they stay
                custom_field_update(custom_field=row, actor=actor, **values)
        except ValidationError as exc:
            problems += _problems(entry.where, exc)
        else:
            _tally(counts, before, custom_field_snapshot(row))
    return problems


def settings_declare(
    *,
    tenant: Tenant,
    stages: Sequence[Declared],
    activity_types: Sequence[Declared],
    custom_fields: Sequence[Declared],
    actor: Actor,
) -> DeclareResult:
    """Declare a tenant's settings from a file, all or nothing; running it again changes
    nothing. ``stages`` (when any) become the whole pipeline, in order (``stages_set``);
    activity types are matched by name in any case, custom fields by entity and name: new ones
    are created, changed ones updated, and nothing is deleted. Raises SettingsInvalid with every
    problem, each naming its entry, and then nothing is written."""
    result = DeclareResult()
    problems = _repeats(stages, lambda v: (v["name"].strip().lower(),))
    problems += _repeats(activity_types, lambda v: (v["name"].strip().lower(),))
    problems += _repeats(custom_fields, lambda v: (v["entity"], v["name"].strip()))
    with scope(tenant=tenant), transaction.atomic():
        if stages and not problems:
            problems += _pipeline_declare(tenant, stages, actor, result)
        problems += _activity_types_declare(tenant, activity_types, actor, result.activity_types)
        problems += _custom_fields_declare(tenant, custom_fields, actor, result.custom_fields)
        if problems:
            raise SettingsInvalid(problems)  # rolls back what the valid entries wrote
    return result
