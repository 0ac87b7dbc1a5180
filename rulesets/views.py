from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hierarchy.decorators import member_required
from hierarchy.models import Member

from .models import Ruleset


@member_required(Member.Role.ADMIN)
def ruleset_list(request: HttpRequest) -> HttpResponse:
    rulesets = Ruleset.objects.prefetch_related("rules")
    return render(request, "rulesets/ruleset_list.html", {"rulesets": rulesets})
