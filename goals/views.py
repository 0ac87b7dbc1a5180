from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hierarchy.decorators import member_required
from hierarchy.models import Member


@member_required(Member.Role.ADMIN, Member.Role.MANAGER)
def goal_list(request: HttpRequest) -> HttpResponse:
    return render(request, "goals/goal_list.html")
