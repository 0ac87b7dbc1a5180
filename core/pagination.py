# No `from __future__ import annotations`: django-ninja reads the schema's annotations at runtime.
"""The API's page-number pagination, with page numbers a database can take (a page past the
last is empty; one beyond any real size is refused with 422, not a database error)."""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

MAX_PAGE = 1_000_000


class Pages(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=1000)
