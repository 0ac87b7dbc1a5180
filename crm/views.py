"""Record pages: the leads, activities and opportunities of the viewer's part of the tree."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from goals_project.dates import validate_date_range
from hierarchy.decorators import member_required
from hierarchy.models import Member

from .listings import LISTINGS, PAGE_SIZE, Listing


class RecordFilters(forms.Form):
    q = forms.CharField(required=False, label="Search")
    owner = forms.EmailField(required=False, label="Owner's email")
    status = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, label="From", validators=[validate_date_range])
    until = forms.DateField(
        required=False, label="To (inclusive)", validators=[validate_date_range]
    )

    def __init__(self, *args: Any, model: type[Model], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "Any status"), *model.Status.choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data


def _start_of(day: Any) -> datetime:
    """Midnight of a date in the active (tenant's) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _records(request: HttpRequest, listing: Listing, form: RecordFilters) -> QuerySet:
    team = Member.objects.visible_to(request.member).values("pk")
    rows = listing.model.objects.filter(owner__in=team).select_related(*listing.related)
    rows = rows.order_by(f"-{listing.date_field}", "-pk")
    if not form.is_valid():
        return rows.none()
    data = form.cleaned_data
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
        rows = rows.filter(**{f"{listing.date_field}__gte": _start_of(data["since"])})
    if data["until"]:
        end = _start_of(data["until"] + timedelta(days=1))
        rows = rows.filter(**{f"{listing.date_field}__lt": end})
    return rows


@member_required(Member.Role.ADMIN, Member.Role.MANAGER)
@vary_on_headers("HX-Request")
def record_list(request: HttpRequest, kind: str) -> HttpResponse:
    listing = LISTINGS.get(kind)
    if listing is None:
        raise Http404
    form = RecordFilters(request.GET, model=listing.model)  # every filter is optional
    page = Paginator(_records(request, listing, form), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [[render_cell(record) for _, render_cell in listing.columns] for record in page]
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
