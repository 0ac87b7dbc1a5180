"""Record pages: the leads, activities, opportunities and tasks of the viewer's part of the
tree, listed and each on its own page;
and Settings, where admins declare what records name (stages, activity types, custom fields)
and when their people work (the working time that paces goals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import DateTimeField, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from core.dates import validate_date_range
from core.formatting import in_unit
from hierarchy.decorators import member_required
from hierarchy.models import MANAGING_ROLES, Member, Tenant
from hierarchy.services import (
    company_set,
    company_snapshot,
    working_time_set,
    working_time_snapshot,
)

from . import services
from .customers import customer_lifetime
from .forms import (
    ActivityTypeForm,
    CompanyForm,
    CustomFieldEditForm,
    CustomFieldForm,
    StageForm,
    WorkingTimeForm,
)
from .listings import LISTINGS, PAGE_SIZE, Listing
from .models import Account, ActivityType, CustomField, Opportunity, PipelineStage


class RecordFilters(forms.Form):
    q = forms.CharField(required=False, label="Search")
    owner = forms.EmailField(required=False, label="Owner's email")
    status = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, label="From", validators=[validate_date_range])
    until = forms.DateField(
        required=False, label="To (inclusive)", validators=[validate_date_range]
    )
    planned = forms.BooleanField(required=False, label="Include planned (dated after now)")

    def __init__(self, *args: Any, listing: Listing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in set(self.fields) - listing.filters:
            del self.fields[name]
        if "status" in self.fields:
            self.fields["status"].choices = [("", "Any status"), *listing.model.Status.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


def _start_of(day: Any) -> datetime:
    """Midnight of a date in the active (tenant's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _visible(request: HttpRequest, listing: Listing) -> QuerySet:
    """The listing's records that the viewer may see."""
    rows = listing.model.objects.filter(listing.visible(request.member))
    return rows.select_related(*listing.related)


def _records(request: HttpRequest, listing: Listing, form: RecordFilters) -> QuerySet:
    rows = _visible(request, listing)
    date_field = listing.date_field
    rows = rows.order_by(f"-{date_field}", "-pk") if date_field else rows.order_by("name", "pk")
    # A date field is compared with local dates; a moment with the local day's first instant.
    is_day = date_field is not None and not isinstance(
        listing.model._meta.get_field(date_field), DateTimeField
    )
    start_of = (lambda day: day) if is_day else _start_of
    if not form.is_valid():
        return rows.none()
    data = dict.fromkeys(RecordFilters.base_fields) | form.cleaned_data
    if data["q"]:
        text = Q()
        for path in listing.search:
            text |= Q(**{f"{path}__icontains": data["q"]})
        rows = rows.filter(text)
    if data["owner"]:
        rows = rows.filter(owner__user__email__iexact=data["owner"])
    if data["status"]:
        rows = rows.filter(status=data["status"])
    if data["since"]:
        rows = rows.filter(**{f"{date_field}__gte": start_of(data["since"])})
    if data["until"]:
        end = start_of(data["until"] + timedelta(days=1))
        rows = rows.filter(**{f"{date_field}__lt": end})
    if "planned" in listing.filters and not data["planned"]:
        # What happened, newest first; a planned call is not news.
        rows = rows.filter(**{f"{listing.date_field}__lte": timezone.now()})
    return rows


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def record_list(request: HttpRequest, kind: str) -> HttpResponse:
    listing = LISTINGS.get(kind)
    if listing is None:
        raise Http404
    form = RecordFilters(request.GET, listing=listing)  # every filter is optional
    page = Paginator(_records(request, listing, form), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [listing.row(record) for record in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "kind": kind,
        "listing": listing,
        "kinds": {key: value.title for key, value in LISTINGS.items()},
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
    }
    template = "crm/record_list.html"
    if request.htmx and request.htmx.target == "records":
        template += "#records"
    return render(request, template, context)


ACCOUNT_RECORDS = PAGE_SIZE  # of each kind on an account's page, newest first


@member_required(*MANAGING_ROLES)
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An account and the opportunities and leads of the viewer's part of the tree it names."""
    account = get_object_or_404(Account, pk=pk)
    sections = []
    for kind, related in (("opportunities", account.opportunities), ("leads", account.leads)):
        listing = LISTINGS[kind]
        rows = related.filter(listing.visible(request.member)).select_related(*listing.related)
        rows = rows.order_by(f"-{listing.date_field}", "-pk")
        page = Paginator(rows, ACCOUNT_RECORDS).get_page(1)
        rows = [listing.row(record) for record in page]
        sections.append({"kind": kind, "listing": listing, "page": page, "rows": rows})
    currency = request.tenant.default_currency
    lifetime = customer_lifetime(account=account, currency=currency)
    context = {
        "account": account,
        "since": lifetime and lifetime[0],
        "value": lifetime and in_unit(lifetime[1], "currency", currency),
        "currency": currency,
        "sections": sections,
        "kinds": {key: value.title for key, value in LISTINGS.items()},
    }
    return render(request, "crm/account_detail.html", context)


@member_required()
def record_page(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """One record of the viewer's part of the tree (a rep's: their own, which the records
    behind their numbers link to): its listed fields, what it is linked to, its custom fields
    and its id in the CRM."""
    listing = LISTINGS[kind]  # the kind is its URL's
    record = get_object_or_404(_visible(request, listing), pk=pk)
    declared = CustomField.objects.filter(entity=listing.model._meta.model_name)
    custom = set(declared.values_list("name", flat=True))
    attributes = [
        (name.replace("_", " ").capitalize() if name in custom else name, value)
        for name, value in sorted(record.attributes.items())
    ]
    context = {
        "kind": kind,
        "listing": listing,
        "record": record,
        "fields": list(
            zip((label for label, _ in listing.columns), listing.cells(record), strict=True)
        ),
        "attributes": attributes,
        "lists_records": request.member.role in MANAGING_ROLES,  # the Records pages
    }
    if isinstance(record, Opportunity):
        changes = record.stage_changes.select_related("from_stage", "to_stage", "member")
        context["history"] = changes.order_by("changed_at", "pk")
    return render(request, "crm/record_page.html", context)


@dataclass(frozen=True)
class SettingKind:
    """One section of Settings: its rows, forms and the services that change them."""

    title: str
    route: str  # its pages are <route>_add, <route>_edit and <route>_delete
    intro: str
    rows: Callable[[], QuerySet]
    add_form: type[forms.Form]
    edit_form: type[forms.Form]
    edited: Callable[[Any], dict[str, Any]]  # a row's values as its edit form's initial data
    badges: Callable[[Any], list[str]]
    create: Callable[..., Model]  # (tenant=, actor=, **cleaned_data)
    update: Callable[..., Model]  # (row, actor=, **cleaned_data)
    delete: Callable[..., None]  # (row, actor=)


SETTING_KINDS: dict[str, SettingKind] = {
    "stages": SettingKind(
        title="Pipeline stages",
        route="stage",
        intro="The steps of your sales pipeline, in order. Opportunities name their stage.",
        rows=lambda: PipelineStage.objects.order_by("position", "name"),
        add_form=StageForm,
        edit_form=StageForm,
        edited=lambda stage: {"name": stage.name, "outcome": stage.outcome},
        badges=lambda stage: [] if stage.outcome == "open" else [stage.get_outcome_display()],
        create=services.stage_create,
        update=lambda stage, **data: services.stage_update(stage=stage, **data),
        delete=lambda stage, **data: services.stage_delete(stage=stage, **data),
    ),
    "activity-types": SettingKind(
        title="Activity types",
        route="activity_type",
        intro="The kinds of activity your people log, each in a category. Activities name "
        "their type.",
        rows=lambda: ActivityType.objects.order_by("name"),
        add_form=ActivityTypeForm,
        edit_form=ActivityTypeForm,
        edited=lambda row: {"name": row.name, "category": row.category},
        badges=lambda row: [row.get_category_display()],
        create=services.activity_type_create,
        update=lambda row, **data: services.activity_type_update(activity_type=row, **data),
        delete=lambda row, **data: services.activity_type_delete(activity_type=row, **data),
    ),
    "custom-fields": SettingKind(
        title="Custom fields",
        route="custom_field",
        intro="Extra fields of leads, activities or opportunities: a CSV column of the same "
        "name, a key of attributes in the API.",
        rows=lambda: CustomField.objects.order_by("entity", "name"),
        add_form=CustomFieldForm,
        edit_form=CustomFieldEditForm,
        edited=lambda row: {"type": row.type, "choices": row.choices},
        badges=lambda row: [row.get_entity_display(), row.get_type_display(), *row.choices],
        create=services.custom_field_create,
        update=lambda row, **data: services.custom_field_update(custom_field=row, **data),
        delete=lambda row, **data: services.custom_field_delete(custom_field=row, **data),
    ),
}


def _setting_kind(kind: str) -> SettingKind:
    if kind not in SETTING_KINDS:
        raise Http404
    return SETTING_KINDS[kind]


def _setting_row(kind: str, pk: int) -> Model:
    """A row of the viewer's tenant (the scope); another tenant's id does not exist."""
    return get_object_or_404(_setting_kind(kind).rows(), pk=pk)


def _section(
    kind: str,
    *,
    add_form: forms.Form | None = None,
    editing: int | None = None,
    edit_form: forms.Form | None = None,
    notice: str = "",
    error: str = "",
) -> dict[str, Any]:
    spec = _setting_kind(kind)
    rows = list(spec.rows())
    for row in rows:
        row.badges = spec.badges(row)
        row.edit_url = reverse(f"{spec.route}_edit", args=[row.pk])
        row.delete_url = reverse(f"{spec.route}_delete", args=[row.pk])
    return {
        "key": kind,
        "spec": spec,
        "add_url": reverse(f"{spec.route}_add"),
        "rows": rows,
        "add_form": add_form or spec.add_form(prefix=f"{kind}-add"),
        "editing": editing,
        "edit_form": edit_form,
        "notice": notice,
        "error": error,
    }


# The forms of the tenant's own settings (not rows): partial -> (form, its initial values).
TENANT_PARTS: dict[str, tuple[type[forms.Form], Callable[[Tenant], dict[str, Any]]]] = {
    "company": (CompanyForm, company_snapshot),
    "working-time": (WorkingTimeForm, working_time_snapshot),
}


def _settings_response(
    request: HttpRequest,
    section: dict[str, Any] | None = None,
    part: tuple[str, dict[str, Any]] | None = None,
) -> HttpResponse:
    """The page with ``section`` or a tenant ``part`` (partial name, context) as given, or only
    that one for HTMX."""
    if request.htmx and section is not None:
        return render(request, "crm/settings.html#section", {"section": section})
    parts = {name: _tenant_part(request.tenant, name) for name in TENANT_PARTS}
    if part is not None:
        parts[part[0]] = part[1]
        if request.htmx:
            return render(request, f"crm/settings.html#{part[0]}", {"part": part[1]})
    key = section["key"] if section else None
    sections = [section if kind == key else _section(kind) for kind in SETTING_KINDS]
    context = {"sections": sections} | {n.replace("-", "_"): c for n, c in parts.items()}
    return render(request, "crm/settings.html", context)


def _tenant_part(
    tenant: Tenant, name: str, form: forms.Form | None = None, notice: str = ""
) -> dict[str, Any]:
    form_class, snapshot = TENANT_PARTS[name]
    return {"form": form or form_class(initial=snapshot(tenant), prefix=name), "notice": notice}


def _tenant_part_edit(
    request: HttpRequest, name: str, service: Callable[..., Tenant], saved: str
) -> HttpResponse:
    """A tenant part's form: saved through ``service`` (its ValidationError on the fields)."""
    tenant = request.tenant
    form_class, snapshot = TENANT_PARTS[name]
    form = form_class(request.POST or None, initial=snapshot(tenant), prefix=name)
    if request.method == "POST" and form.is_valid():
        try:
            service(tenant=tenant, actor=request.member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if not request.htmx:
                messages.success(request, saved)
                return redirect(reverse("settings") + f"#{name}")
            return _settings_response(
                request, part=(name, _tenant_part(tenant, name, notice=saved))
            )
    return _settings_response(request, part=(name, _tenant_part(tenant, name, form)))


def _setting_changed(
    request: HttpRequest, kind: str, notice: str = "", error: str = ""
) -> HttpResponse:
    if request.htmx:
        return _settings_response(request, _section(kind, notice=notice, error=error))
    if error:
        messages.error(request, error)
    else:
        messages.success(request, notice)
    return redirect(reverse("settings") + f"#{kind}")


@member_required(Member.Role.ADMIN)
@vary_on_headers("HX-Request")
def settings_page(request: HttpRequest) -> HttpResponse:
    """Every section; an HTMX request asks for one (``?section=stages``)."""
    kind = request.GET.get("section") or next(iter(SETTING_KINDS))
    return _settings_response(request, _section(kind))


@member_required(Member.Role.ADMIN)
@vary_on_headers("HX-Request")
def working_time_edit(request: HttpRequest) -> HttpResponse:
    """The working days, hours and holidays that pace every goal of the tenant."""
    return _tenant_part_edit(request, "working-time", working_time_set, "Saved the working time.")


@member_required(Member.Role.ADMIN)
@vary_on_headers("HX-Request")
def company_edit(request: HttpRequest) -> HttpResponse:
    """The tenant's time zone, week start, fiscal-year start and default currency."""
    return _tenant_part_edit(request, "company", company_set, "Saved the company settings.")


@member_required(Member.Role.ADMIN)
@require_POST
def setting_add(request: HttpRequest, kind: str) -> HttpResponse:
    spec = _setting_kind(kind)
    form = spec.add_form(request.POST, prefix=f"{kind}-add")
    if form.is_valid():
        try:
            row = spec.create(tenant=request.tenant, actor=request.member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _setting_changed(request, kind, notice=f"Added {row}.")
    return _settings_response(request, _section(kind, add_form=form))


@member_required(Member.Role.ADMIN)
@vary_on_headers("HX-Request")
def setting_edit(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = _setting_kind(kind)
    row = _setting_row(kind, pk)
    form = spec.edit_form(request.POST or None, initial=spec.edited(row), prefix=f"{kind}-{pk}")
    if request.method == "POST" and form.is_valid():
        try:
            row = spec.update(row, actor=request.member, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _setting_changed(request, kind, notice=f"Saved {row}.")
    return _settings_response(request, _section(kind, editing=pk, edit_form=form))


@member_required(Member.Role.ADMIN)
def setting_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    spec = _setting_kind(kind)
    row = _setting_row(kind, pk)  # another tenant's id is a 404 whatever the method
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        spec.delete(row, actor=request.member)
    except ValidationError as exc:
        return _setting_changed(request, kind, error=" ".join(exc.messages))
    return _setting_changed(request, kind, notice=f"Deleted {row}.")


@member_required(Member.Role.ADMIN)
def stage_move(request: HttpRequest, pk: int) -> HttpResponse:
    stage = _setting_row("stages", pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.stage_move(stage=stage, offset=offset, actor=request.member)
    return _setting_changed(request, "stages", notice=f"Moved {stage}.")
