from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import retarget

from . import services
from .audit_text import actor_name, describe, emails_in
from .decorators import member_required
from .forms import (
    ApiTokenForm,
    MemberAddForm,
    MemberDeactivateForm,
    MemberEditForm,
    MemberMoveForm,
    MembersImportForm,
)
from .importer import MemberImportError, members_export, members_import
from .models import MANAGING_ROLES, ApiToken, AuditEntry, Member

SEARCH_LIMIT = 50


def _visible(request: HttpRequest):
    return Member.objects.visible_to(request.member)


def _member_or_404(request: HttpRequest, pk: int) -> Member:
    """A member the viewer may see; anyone else (another tenant's too) does not exist."""
    return get_object_or_404(
        _visible(request).select_related("user", "reports_to", "sales_role"), pk=pk
    )


def _editable(request: HttpRequest, pk: int) -> Member:
    member = _member_or_404(request, pk)
    if not request.member.is_admin:
        raise PermissionDenied
    return member


def _top(request: HttpRequest) -> Member:
    """Where the viewer's tree starts: the organization's root for admins, else themselves."""
    if request.member.is_admin:
        return Member.objects.select_related("user").get(reports_to=None)
    return request.member


def _tree_context(request: HttpRequest, expand: Member | None = None) -> dict[str, Any]:
    """The tree from the viewer's top, with the top and the path down to ``expand`` opened.

    Two queries whatever the size of the organization: the path, then the opened levels.
    """
    top = _top(request)
    opened = {top.pk}
    if expand is not None:
        path = _visible(request).managers_of(expand).filter(lft__gte=top.lft)
        opened |= set(path.values_list("pk", flat=True)) | {expand.pk}
    nodes = list(
        _visible(request)
        .filter(Q(pk=top.pk) | Q(reports_to__in=opened))
        .select_related("user")
        .order_by("lft")
    )
    by_id = {node.pk: node for node in nodes}
    for node in nodes:
        node.kids = [] if node.pk in opened else None
    for node in nodes:
        if node.pk != top.pk and node.reports_to_id in by_id:
            by_id[node.reports_to_id].kids.append(node)
    return {"roots": [by_id[top.pk]], "can_edit": request.member.is_admin}


@member_required(*MANAGING_ROLES)
@vary_on_headers("HX-Request")
def organization(request: HttpRequest) -> HttpResponse:
    context = _tree_context(request)
    context["member_count"] = _member_count(request)
    return render(request, "hierarchy/organization.html", context)


def _member_count(request: HttpRequest) -> int:
    """The active members the page's tree shows."""
    return _visible(request).filter(is_active=True).count()


@member_required(*MANAGING_ROLES)
def member_children(request: HttpRequest, pk: int) -> HttpResponse:
    parent = _member_or_404(request, pk)
    children = parent.direct_reports.select_related("user").order_by("lft")
    for child in children:
        child.kids = None
    context = {"nodes": children, "can_edit": request.member.is_admin}
    return render(request, "hierarchy/organization.html#node-list", context)


@member_required(*MANAGING_ROLES)
@require_GET
def member_search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()
    results = []
    if text:
        results = list(
            _visible(request).search(text).select_related("user").order_by("name")[:SEARCH_LIMIT]
        )
    for node in results:
        node.kids = None
    context = {"nodes": results, "query": text, "can_edit": request.member.is_admin}
    context["limited"] = len(results) == SEARCH_LIMIT
    return render(request, "hierarchy/organization.html#search-results", context)


@member_required(*MANAGING_ROLES)
@require_GET
def member_options(request: HttpRequest) -> HttpResponse:
    """<option>s for a manager picker's datalist, by name or email."""
    text = request.GET.get("reports_to", "").strip()
    options = []
    if len(text) >= 2:
        options = _visible(request).filter(is_active=True).search(text).select_related("user")
        options = options.order_by("name")[:20]
    return render(request, "hierarchy/organization.html#options", {"options": options})


def _tree_changed(request: HttpRequest, notice: str, expand: Member) -> HttpResponse:
    """After a write: the refreshed tree, opened where the change happened."""
    if not request.htmx:
        messages.success(request, notice)
        return redirect("organization")
    context = _tree_context(request, expand=expand) | {"notice": notice}
    response = render(request, "hierarchy/organization.html#tree", context)
    # The count above the tree follows the change too (out of band: it is not in #tree).
    counted = {"member_count": _member_count(request), "oob": True}
    response.content += render_to_string(
        "hierarchy/organization.html#member-count", counted, request
    ).encode()
    return retarget(response, "#tree")


FORM_TITLES = {
    "add": "Add a report to {}",
    "edit": "Edit {}",
    "move": "Move {} and their team",
    "deactivate": "Deactivate {}",
}


def _form_response(request: HttpRequest, subject: Member, form: Any, action: str) -> HttpResponse:
    template = "hierarchy/member_form.html"
    if request.htmx:
        template += "#form"
    context = {
        "subject": subject,
        "form": form,
        "action": action,
        "title": FORM_TITLES[action].format(subject.name),
        "post_url": reverse(f"member_{action}", args=[subject.pk]),
    }
    return render(request, template, context)


def _handle(
    request: HttpRequest,
    subject: Member,
    form: Any,
    action: str,
    apply: Callable[[dict[str, Any]], tuple[str, Member]],
) -> HttpResponse:
    """On a valid POST run ``apply(cleaned_data) -> (notice, changed member)`` and show the
    tree; a service's refusal goes next to the field it names."""
    if request.method == "POST" and form.is_valid():
        try:
            notice, changed = apply(form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _tree_changed(request, notice, changed)
    return _form_response(request, subject, form, action)


@member_required(*MANAGING_ROLES)
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    manager = _editable(request, pk)
    form = MemberAddForm(request.POST or None, tenant=request.tenant, auto_id=f"%s-add-{pk}")

    def apply(data: dict[str, Any]) -> tuple[str, Member]:
        member = services.member_create(
            tenant=request.tenant, reports_to=manager, actor=request.member, **data
        )
        link = services.member_invite_send(member=member, base_url=request.build_absolute_uri("/"))
        added = f"Added {member.name} under {manager.name}"
        if services.mail_configured():
            return f"{added} and emailed them a link to set their password.", member
        return (
            f"{added}. No mail server is configured, so no email went out: give them this "
            f"link to set their password: {link}",
            member,
        )

    return _handle(request, manager, form, "add", apply)


@member_required(*MANAGING_ROLES)
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    member = _editable(request, pk)
    initial = {
        "name": member.name,
        "title": member.title,
        "role": member.role,
        "sales_role": member.sales_role_id,
    }
    form = MemberEditForm(request.POST or None, initial=initial, auto_id=f"%s-edit-{pk}")

    def apply(data: dict[str, Any]) -> tuple[str, Member]:
        updated = services.member_update(member=member, actor=request.member, **data)
        return f"Saved {updated.name}.", updated

    return _handle(request, member, form, "edit", apply)


@member_required(*MANAGING_ROLES)
def member_move(request: HttpRequest, pk: int) -> HttpResponse:
    member = _editable(request, pk)
    form = MemberMoveForm(request.POST or None, members=_visible(request), auto_id=f"%s-move-{pk}")

    def apply(data: dict[str, Any]) -> tuple[str, Member]:
        manager = data["reports_to"]
        moved = services.member_move(member=member, reports_to=manager, actor=request.member)
        team = f" and their team of {moved.team_size}" if moved.team_size else ""
        return f"Moved {moved.name}{team} under {manager.name}.", moved

    return _handle(request, member, form, "move", apply)


@member_required(*MANAGING_ROLES)
def member_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = _editable(request, pk)
    form = MemberDeactivateForm(
        request.POST or None, members=_visible(request), auto_id=f"%s-deactivate-{pk}"
    )

    def apply(data: dict[str, Any]) -> tuple[str, Member]:
        gone = services.member_deactivate(
            member=member, reports_to=data["reports_to"], actor=request.member
        )
        return f"Deactivated {gone.name}.", gone

    return _handle(request, member, form, "deactivate", apply)


@member_required(*MANAGING_ROLES)
def member_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    member = _editable(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        member = services.member_reactivate(member=member, actor=request.member)
    except ValidationError as exc:
        notice = " ".join(exc.messages)
    else:
        notice = f"Reactivated {member.name}."
    return _tree_changed(request, notice, member)


@member_required(Member.Role.ADMIN)
def members_import_view(request: HttpRequest) -> HttpResponse:
    form = MembersImportForm(request.POST or None, request.FILES or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        text = io.TextIOWrapper(form.cleaned_data["file"].file, encoding="utf-8-sig", newline="")
        try:
            result = members_import(
                tenant=request.tenant,
                file=text,
                actor=request.member,
                sales_role_at_once=form.cleaned_data["sales_role_at_once"],
            )
        except MemberImportError as exc:
            problems = exc.problems
        except UnicodeDecodeError:
            form.add_error("file", "The file is not UTF-8 text.")
        else:
            messages.success(
                request,
                f"Imported: {result.created} created, {result.updated} updated, "
                f"{result.moved} moved, {result.unchanged} unchanged.",
            )
            return redirect("organization")
    return render(request, "hierarchy/import.html", {"form": form, "problems": problems})


@member_required(Member.Role.ADMIN)
@require_GET
def members_export_view(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{request.tenant.slug}-members.csv"'
    members_export(tenant=request.tenant, file=response)
    return response


@member_required()
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(request, pk)
    if not member.is_active and not request.member.is_admin:
        raise Http404
    reports = member.direct_reports.select_related("user").order_by("name")
    return render(request, "hierarchy/member_detail.html", {"subject": member, "reports": reports})


@member_required(Member.Role.ADMIN)
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List, create and revoke the tenant's API tokens; a new key is shown once."""
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _, new_key = services.api_token_create(
                tenant=request.tenant, name=form.cleaned_data["name"], actor=request.member
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "new_key": new_key,
        "tokens": ApiToken.objects.select_related("created_by"),
    }
    return render(request, "hierarchy/api_tokens.html", context)


@member_required(Member.Role.ADMIN)
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    services.api_token_revoke(token=token, actor=request.member)
    messages.success(request, f"Revoked the token {token.name}; it no longer authenticates.")
    return redirect("api_tokens")


@member_required(Member.Role.ADMIN)
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = AuditEntry.objects.select_related("actor")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    emails = set().union(*(emails_in([e.before, e.after]) for e in page.object_list))
    names = dict(Member.objects.filter(user__email__in=emails).values_list("user__email", "name"))
    rows = [
        (
            entry,
            describe(
                action=entry.action,
                actor=entry.actor.name if entry.actor else actor_name(entry.actor_label),
                target=entry.target_label,
                before=entry.before,
                after=entry.after,
                names=names,
            ),
        )
        for entry in page.object_list
    ]
    return render(request, "hierarchy/audit_log.html", {"page": page, "rows": rows})
