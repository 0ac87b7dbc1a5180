from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hierarchy.decorators import member_required
from hierarchy.models import Member


@member_required()
def assigned_to_me(request: HttpRequest) -> HttpResponse:
    return render(request, "achievements/assigned_to_me.html")


@member_required(Member.Role.ADMIN, Member.Role.MANAGER)
def my_team(request: HttpRequest) -> HttpResponse:
    reports = request.member.direct_reports.filter(is_active=True).order_by("name")
    return render(request, "achievements/my_team.html", {"reports": reports})
