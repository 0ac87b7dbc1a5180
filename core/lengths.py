"""Text against the column it goes into: every path (form, API, CSV, command) checks a value's
length with ``too_long`` before writing it, so that PostgreSQL never refuses it with a 500."""

from __future__ import annotations

from django.db.models import Model


def too_long(model: type[Model], field: str, value: object) -> str | None:
    """Why ``value`` does not fit ``model.field`` ("is longer than N characters"), or None."""
    longest = model._meta.get_field(field).max_length
    if longest is not None and isinstance(value, str) and len(value) > longest:
        return f"is longer than {longest} characters"
    return None
