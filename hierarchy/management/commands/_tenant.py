from __future__ import annotations

from django.core.management.base import CommandError

from hierarchy.models import Tenant


def tenant_by_slug(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist:
        raise CommandError(f"No tenant with the slug {slug!r}.") from None
