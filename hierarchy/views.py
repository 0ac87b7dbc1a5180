from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .decorators import member_required
from .models import Member

MANAGERS = (Member.Role.ADMIN, Member.Role.MANAGER)


def _visible_members(viewer: Member):
    """Members the viewer may look at: everyone for admins, otherwise their own subtree."""
    if viewer.is_admin:
        return Member.objects.all()
    return Member.objects.filter(tree_id=viewer.tree_id, lft__gte=viewer.lft, rght__lte=viewer.rght)


@member_required(*MANAGERS)
def organization(request: HttpRequest) -> HttpResponse:
    members = (
        _visible_members(request.member)
        .select_related("user", "reports_to")
        .order_by("tree_id", "lft")
    )
    return render(request, "hierarchy/organization.html", {"members": members})


@member_required()
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(
        _visible_members(request.member).select_related("user", "reports_to"), pk=pk
    )
    if not member.is_active and not request.member.is_admin:
        raise Http404
    reports = member.direct_reports.select_related("user").order_by("name")
    return render(request, "hierarchy/member_detail.html", {"subject": member, "reports": reports})
