from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def membership(request: HttpRequest) -> dict[str, Any]:
    """The current member and tenant for the layout and navigation."""
    return {
        "member": getattr(request, "member", None),
        "tenant": getattr(request, "tenant", None),
    }
