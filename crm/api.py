"""JSON API for leads, activities, opportunities, accounts and spend: bulk upsert, delete,
filtered lists.

Each entity gets the same operations from one router factory; all of them call the ingestion
service, the one path by which records are written.
"""

# No `from __future__ import annotations`: django-ninja reads these annotations at run time.

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate
from ninja.responses import Status

from core.limits import MAX_RECORDS
from core.pagination import Pages
from core.problems import ErrorsOut, RecordError, problems_out
from hierarchy.services import working_time_set, working_time_snapshot

from . import services
from .ingest import RecordsInvalid, records_delete, records_upsert
from .models import (
    ENTITY_MODELS,
    Account,
    ActivityType,
    CustomField,
    Entity,
    PipelineStage,
    Spend,
)
from .timeparse import parse_timestamp


class RecordsIn(Schema):
    records: list[dict[str, Any]] = Field(
        ...,
        max_length=MAX_RECORDS,
        description="Records keyed by the entity's record fields (see docs/crm-import.md); "
        "custom fields in `attributes`.",
    )


class UpsertOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: list[RecordError] = []


class ExternalIdsIn(Schema):
    external_ids: list[str] = Field(..., min_length=1, max_length=MAX_RECORDS)


class DeletedOut(Schema):
    deleted: int


class RecordOut(Schema):
    external_id: str
    owner_email: str = Field(..., alias="owner.user.email")
    attributes: dict[str, Any]


class AccountOut(Schema):
    external_id: str
    name: str
    segment: str
    channel: str
    attributes: dict[str, Any]


class SpendOut(Schema):
    external_id: str
    date: date
    channel: str
    amount: Decimal
    currency: str
    team_email: str | None = Field(None, alias="team.user.email")
    attributes: dict[str, Any]


class LeadOut(RecordOut):
    name: str
    email: str
    phone: str
    source: str
    status: str
    created_at: datetime
    first_contacted_at: datetime | None
    converted_at: datetime | None
    disqualified_at: datetime | None
    account_external_id: str | None = Field(None, alias="account.external_id")


class ActivityOut(RecordOut):
    type: str = Field(..., alias="type.name")
    occurred_at: datetime
    status: str
    outcome: str
    duration_seconds: int
    lead_external_id: str | None = Field(None, alias="lead.external_id")
    opportunity_external_id: str | None = Field(None, alias="opportunity.external_id")


class OpportunityOut(RecordOut):
    name: str
    stage: str = Field(..., alias="stage.name")
    status: str
    value: Decimal
    currency: str
    created_at: datetime
    closed_at: datetime | None
    lead_external_id: str | None = Field(None, alias="lead.external_id")
    account_external_id: str | None = Field(None, alias="account.external_id")


class Filters(Schema):
    owner_email: str | None = None
    status: str | None = None
    date_field: str | None = Field(None, description="Which date since/until apply to.")
    since: str | None = Field(None, description="Inclusive; naive times in the tenant's zone.")
    until: str | None = Field(None, description="Exclusive; naive times in the tenant's zone.")


class AccountFilters(Schema):
    segment: str | None = None
    channel: str | None = None


class SpendFilters(Schema):
    channel: str | None = None
    team_email: str | None = None
    since: date | None = Field(None, description="Inclusive, YYYY-MM-DD.")
    until: date | None = Field(None, description="Exclusive, YYYY-MM-DD.")


_RELATED = {
    Entity.LEAD: ("owner__user", "account"),
    Entity.ACTIVITY: ("owner__user", "type", "lead", "opportunity"),
    Entity.OPPORTUNITY: ("owner__user", "stage", "lead", "account"),
}


def _accounts(request: HttpRequest, entity: str, filters: AccountFilters) -> QuerySet:
    rows = Account.objects.order_by("pk")
    for name in ("segment", "channel"):
        if value := getattr(filters, name):
            rows = rows.filter(**{f"{name}__iexact": value.strip()})
    return rows


def _spend(request: HttpRequest, entity: str, filters: SpendFilters) -> QuerySet:
    rows = Spend.objects.select_related("team__user").order_by("date", "pk")
    if filters.channel:
        rows = rows.filter(channel__iexact=filters.channel.strip())
    if filters.team_email:
        rows = rows.filter(team__user__email__iexact=filters.team_email.strip())
    if filters.since:
        rows = rows.filter(date__gte=filters.since)
    if filters.until:
        rows = rows.filter(date__lt=filters.until)
    return rows


def _filtered(request: HttpRequest, entity: str, filters: Filters) -> QuerySet:
    model = ENTITY_MODELS[entity]
    rows = model.objects.select_related(*_RELATED[entity]).order_by("pk")
    if filters.owner_email:
        rows = rows.filter(owner__user__email__iexact=filters.owner_email.strip())
    if filters.status:
        rows = rows.filter(status=filters.status)
    date_field = filters.date_field or model.DATE_FIELDS[0]
    if date_field not in model.DATE_FIELDS:
        raise HttpError(422, f"date_field must be one of {', '.join(model.DATE_FIELDS)}")
    for bound, lookup in ((filters.since, "gte"), (filters.until, "lt")):
        if bound:
            try:
                moment = parse_timestamp(bound, request.tenant.time_zone)
            except ValueError as exc:
                raise HttpError(422, str(exc)) from None
            rows = rows.filter(**{f"{date_field}__{lookup}": moment})
    return rows


def entity_router(
    entity: str,
    plural: str,
    out: type[Schema],
    filters_in: type[Schema] = Filters,
    filtered: Callable[[HttpRequest, str, Any], QuerySet] = _filtered,
) -> Router:
    router = Router(tags=[plural])

    @router.post(
        "",
        response={200: UpsertOut, 422: ErrorsOut},
        operation_id=f"{plural}_upsert",
        description=(
            f"Create or update up to {MAX_RECORDS:,} records by `external_id`, all or nothing: "
            "any bad record answers 422 naming every bad record and field. `partial=true` "
            "writes the valid ones and lists the rest under `rejected`. Sending the same batch "
            "twice changes nothing."
        ),
    )
    def upsert(request: HttpRequest, body: RecordsIn, partial: bool = False) -> Status:
        try:
            result = records_upsert(
                tenant=request.tenant, entity=entity, records=body.records, partial=partial
            )
        except RecordsInvalid as exc:
            return Status(422, {"detail": problems_out(exc.problems)})
        return Status(200, {**vars(result), "rejected": problems_out(result.rejected)})

    @router.post("/delete", response=DeletedOut, operation_id=f"{plural}_delete_many")
    def delete_many(request: HttpRequest, body: ExternalIdsIn) -> dict[str, int]:
        """Delete records by `external_id`; unknown ids are skipped."""
        deleted = records_delete(
            tenant=request.tenant, entity=entity, external_ids=body.external_ids
        )
        return {"deleted": deleted}

    @router.delete("/{external_id}", response={204: None}, operation_id=f"{plural}_delete")
    def delete_one(request: HttpRequest, external_id: str) -> Status:
        """Delete one record; 404 when the tenant has none with this `external_id`."""
        if not records_delete(tenant=request.tenant, entity=entity, external_ids=[external_id]):
            raise HttpError(404, f"No {entity} with the external_id {external_id!r}.")
        return Status(204, None)

    @router.get("", response=list[out], operation_id=f"{plural}_list")
    @paginate(Pages, page_size=100)
    def listing(request: HttpRequest, filters: Query[filters_in]) -> QuerySet:  # type: ignore[valid-type]
        """The tenant's records, oldest first, filtered (leads, activities, opportunities: by
        owner, status and a date range; accounts by segment and channel; spend by channel,
        team and a date range)."""
        return filtered(request, entity, filters)

    return router


routers = {
    "leads": entity_router(Entity.LEAD, "leads", LeadOut),
    "activities": entity_router(Entity.ACTIVITY, "activities", ActivityOut),
    "opportunities": entity_router(Entity.OPPORTUNITY, "opportunities", OpportunityOut),
    "accounts": entity_router(Entity.ACCOUNT, "accounts", AccountOut, AccountFilters, _accounts),
    "spend": entity_router(Entity.SPEND, "spend", SpendOut, SpendFilters, _spend),
}


class SettingError(Schema):
    field: str
    message: str


class SettingErrorsOut(Schema):
    detail: list[SettingError]


class ActivityTypeIO(Schema):
    name: str
    category: str


class StagesIO(Schema):
    stages: list[str] = Field(..., min_length=1, description="The pipeline, in order.")
    won: list[str] | None = Field(
        None, description="The stages that mark a deal won (left out: each keeps its mark)."
    )
    lost: list[str] | None = Field(
        None, description="The stages that mark a deal lost (left out: each keeps its mark)."
    )


class CustomFieldIO(Schema):
    entity: str
    name: str
    type: str = "text"
    choices: list[str] = []


def _invalid(exc: ValidationError) -> Status:
    errors = [
        {"field": field, "message": message}
        for field, messages in exc.message_dict.items()
        for message in messages
    ]
    return Status(422, {"detail": errors})


def _actor(request: HttpRequest) -> str:
    return f"API token {request.auth.name!r}"


settings_router = Router(tags=["settings"])


@settings_router.get("/activity-types", response=list[ActivityTypeIO])
def activity_types_list(request: HttpRequest) -> list[dict[str, str]]:
    return list(ActivityType.objects.values("name", "category"))


@settings_router.post("/activity-types", response={201: ActivityTypeIO, 422: SettingErrorsOut})
def activity_types_create(request: HttpRequest, body: ActivityTypeIO) -> Status:
    """Add an activity type in one of the categories (call, email, meeting, demo, ...)."""
    try:
        services.activity_type_create(tenant=request.tenant, actor=_actor(request), **body.dict())
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, body.dict())


class StagesOut(Schema):
    stages: list[str] = Field(..., description="The pipeline, in order (empty before it is set).")
    won: list[str] = Field(..., description="The stages that mark a deal won.")
    lost: list[str] = Field(..., description="The stages that mark a deal lost.")


def _stages_out() -> dict[str, list[str]]:
    pipeline = list(PipelineStage.objects.order_by("position"))
    return {
        "stages": [stage.name for stage in pipeline],
        "won": [stage.name for stage in pipeline if stage.outcome == PipelineStage.Outcome.WON],
        "lost": [stage.name for stage in pipeline if stage.outcome == PipelineStage.Outcome.LOST],
    }


@settings_router.get("/stages", response=StagesOut)
def stages_list(request: HttpRequest) -> dict[str, list[str]]:
    return _stages_out()


@settings_router.put("/stages", response={200: StagesOut, 422: SettingErrorsOut})
def stages_set(request: HttpRequest, body: StagesIO) -> Status:
    """Set the pipeline's stages in order. Existing stages are kept (matched by name, in any
    case) and renumbered; a stage that records or stage changes use cannot be removed. With
    `won` or `lost`, the named stages are marked so and every other one open."""
    won, lost = body.won or [], body.lost or []
    outcomes = None
    if body.won is not None or body.lost is not None:
        outcomes = dict.fromkeys(won, "won") | dict.fromkeys(lost, "lost")
    try:
        if both := sorted({name.lower() for name in won} & {name.lower() for name in lost}):
            raise ValidationError({"lost": f"Won and lost both name {', '.join(both)}."})
        services.stages_set(
            tenant=request.tenant, names=body.stages, actor=_actor(request), outcomes=outcomes
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(200, _stages_out())


@settings_router.get("/custom-fields", response=list[CustomFieldIO])
def custom_fields_list(request: HttpRequest) -> list[dict[str, Any]]:
    return list(CustomField.objects.values("entity", "name", "type", "choices"))


@settings_router.post("/custom-fields", response={201: CustomFieldIO, 422: SettingErrorsOut})
def custom_fields_create(request: HttpRequest, body: CustomFieldIO) -> Status:
    """Declare a custom field; records then carry it in `attributes` (a CSV column of its
    name), typed and checked on the way in."""
    try:
        services.custom_field_create(tenant=request.tenant, actor=_actor(request), **body.dict())
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, body.dict())


HOUR_MINUTE = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"  # a wall-clock time, HH:MM


class WorkingTimeIO(Schema):
    working_days: list[int] = Field(
        ..., description="Weekdays with working time, 0 = Monday ... 6 = Sunday; at least one."
    )
    working_hours_start: str = Field(
        ..., pattern=HOUR_MINUTE, description="A working day's start, HH:MM (e.g. 09:00)."
    )
    working_hours_end: str = Field(
        ..., pattern=HOUR_MINUTE, description="Its end, after the start, HH:MM (e.g. 18:00)."
    )
    holidays: list[date] = Field(
        [], description="Dates without working time (YYYY-MM-DD), 1970-01-01 to 2100-12-31."
    )


@settings_router.get("/working-time", response=WorkingTimeIO)
def working_time_get(request: HttpRequest) -> dict[str, Any]:
    """When the tenant's people work, on its clock: what pace counts (see the README)."""
    return working_time_snapshot(request.tenant)


@settings_router.put("/working-time", response={200: WorkingTimeIO, 422: SettingErrorsOut})
def working_time_put(request: HttpRequest, body: WorkingTimeIO) -> Status:
    """Set the working days, hours and holidays (all of them; holidays replace the list).
    Every goal is paced by them from the next request on."""
    hours = {name: time.fromisoformat(getattr(body, name))
             for name in ("working_hours_start", "working_hours_end")}  # fmt: skip
    try:
        tenant = working_time_set(
            tenant=request.tenant,
            actor=_actor(request),
            working_days=body.working_days,
            holidays=body.holidays,
            **hours,
        )
    except ValidationError as exc:
        return _invalid(exc)
    return Status(200, working_time_snapshot(tenant))
