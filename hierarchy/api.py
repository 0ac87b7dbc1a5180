from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from core.limits import MAX_RECORDS
from core.pagination import Pages
from core.problems import ErrorsOut, Problem, RecordError, problems_out

from .importer import ImportResult, MemberImportError, members_upsert
from .models import Member

router = Router()


class MemberIn(Schema):
    email: str
    name: str
    role: str = Member.Role.REP
    reports_to: str | None = Field(None, description="The manager's email; empty for the top.")
    title: str = ""
    sales_role: str | None = Field(
        None,
        description=(
            "The name of a sales role of the organization (any case); empty for none; left "
            "out: the member's role stays. It holds from the next cycle unless "
            "sales_role_at_once=true."
        ),
    )


class MembersIn(Schema):
    records: list[MemberIn] = Field(..., max_length=MAX_RECORDS)


class MembersOut(Schema):
    created: int
    updated: int
    moved: int
    unchanged: int
    rejected: list[RecordError] = []


class MemberOut(Schema):
    email: str = Field(..., alias="user.email")
    name: str
    role: str
    reports_to: str | None = None
    title: str
    sales_role: str | None = None
    is_active: bool

    @staticmethod
    def resolve_reports_to(member: Member) -> str | None:
        return member.reports_to.user.email if member.reports_to_id else None

    @staticmethod
    def resolve_sales_role(member: Member) -> str | None:
        return member.sales_role.name if member.sales_role_id else None


@router.post("", response={200: MembersOut, 422: ErrorsOut})
def members_upsert_view(
    request: HttpRequest,
    body: MembersIn,
    partial: bool = False,
    sales_role_at_once: bool = False,
):
    """Create or update members by email; move them when ``reports_to`` changes.

    All or nothing: any bad record answers 422 listing every problem. With ``partial=true``
    the valid records are applied and the rest reported under ``rejected``. A sales role given
    or taken holds from the next cycle, or at once with ``sales_role_at_once=true``.
    """
    records = {index: record.dict() for index, record in enumerate(body.records)}
    rejected: list[Problem] = []
    while records:
        try:
            result = members_upsert(
                tenant=request.tenant,
                records=list(records.items()),
                unit="record",
                actor=f"API token {request.auth.name!r}",
                sales_role_at_once=sales_role_at_once,
            )
            break
        except MemberImportError as exc:
            if not partial:
                return Status(422, {"detail": problems_out(exc.problems)})
            # Dropping a bad manager can make their reports bad in turn: repeat until stable.
            rejected += exc.problems
            for problem in exc.problems:
                records.pop(problem.line, None)
    else:
        result = ImportResult()
    rejected.sort(key=lambda p: p.line)
    return Status(200, {**vars(result), "rejected": problems_out(rejected)})


@router.get("", response=list[MemberOut])
@paginate(Pages, page_size=100)
def members_list(request: HttpRequest, active: bool | None = None):
    """The tenant's members in tree order."""
    members = Member.objects.select_related("user", "reports_to__user", "sales_role")
    members = members.order_by("lft")
    if active is not None:
        members = members.filter(is_active=active)
    return members
