"""Members CSV import and export: ``email,name,role,reports_to,title[,sales_role]``.

``sales_role`` names a sales role of the tenant (in any case); an empty cell takes a member's
role away, and a file without the column leaves every member's role as it is. A role given
holds its KPIs from the next cycle, or at once when asked (``hierarchy.services.
sales_roles_change``).

Exported text cells that a spreadsheet would run as a formula carry a leading quote
(core.csvcells), which the import reads off again: an export imports back unchanged.

One importer serves ``manage.py import_members`` and the upload form. The whole file is
validated before anything is written; every problem is reported with its line number (the
header is line 1); nothing is written unless the whole file is valid.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from django.contrib.auth import get_user_model
from django.db import transaction
from django_scopes import scope

from core.csvcells import NeutralDictWriter, cell_restore
from core.lengths import too_long
from core.problems import Problem

from .audit import audit_record
from .models import Member, SalesRole, Tenant
from .services import (
    Actor,
    _lock_tree,
    email_format_problem,
    last_admin_problem,
    lines_write,
    login_username,
    member_create,
    normalize_email,
    sales_roles_change,
)
from .signals import members_changed_on_commit

COLUMNS = ("email", "name", "role", "reports_to", "title")
OPTIONAL = ("sales_role",)
EXPORTED = (*COLUMNS, *OPTIONAL)

Progress = Callable[[int, int], None]


class MemberImportError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    moved: int = 0
    unchanged: int = 0


@dataclass
class _Row:
    line: int
    email: str
    name: str
    role: str
    reports_to: str | None
    title: str
    sales_role: str | None = None  # None: not given, the member's role stays


def _csv_records(file: TextIO, problems: list[Problem]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a members CSV file; a bad header stops at line 1."""
    reader = csv.DictReader(file)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in EXPORTED]
    if missing or unknown:
        detail = []
        if missing:
            detail.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            detail.append(f"unknown column(s) {', '.join(unknown)}")
        expected = f"{','.join(COLUMNS)}[,{','.join(OPTIONAL)}]"
        problems.append(Problem(1, f"{'; '.join(detail)}; expected {expected}"))
        return
    reader.fieldnames = header
    for raw in reader:
        if None in raw:
            problems.append(Problem(reader.line_num, f"more values than the {len(header)} columns"))
            continue
        yield reader.line_num, {column: cell_restore(value) for column, value in raw.items()}


def _parse(
    records: Iterable[tuple[int, dict[str, str | None]]], problems: list[Problem], unit: str
) -> list[_Row]:
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line, raw in records:

        def problem(message: str, field: str, line: int = line) -> None:
            problems.append(Problem(line, message, field, unit))

        values = {column: (raw.get(column) or "").strip() for column in EXPORTED}
        given_role = raw.get("sales_role") is not None
        email = normalize_email(values["email"])
        manager = normalize_email(values["reports_to"]) or None
        role = values["role"].lower()
        for label, address in (("email", email), ("reports_to", manager)):
            if address is not None and (wrong := email_format_problem(address)):
                problem(f"{label} {address!r} {wrong}", label)
        if not values["name"]:
            problem("name is empty", "name")
        for column in ("name", "title"):
            if wrong := too_long(Member, column, values[column]):
                problem(f"{column} {wrong}", column)
        for column in EXPORTED:
            if "\x00" in values[column]:
                problem(f"{column} contains a NUL character, which cannot be stored", column)
        if role not in Member.Role.values:
            problem(f"role {values['role']!r} is not one of admin, manager, rep", "role")
        if email in seen:
            problem(f"duplicate email {email} (first on {unit} {seen[email]})", "email")
            continue
        seen[email] = line
        sales_role = values["sales_role"] if given_role else None
        rows.append(_Row(line, email, values["name"], role, manager, values["title"], sales_role))
    return rows


def _check_tree(
    rows: list[_Row], existing: dict[str, Member], problems: list[Problem], unit: str
) -> dict[str, str | None]:
    """Managers exist, one root, no cycles. Returns the final email -> manager email map."""

    def problem(line: int, message: str) -> None:
        problems.append(Problem(line, message, "reports_to", unit))

    parents: dict[str, str | None] = {
        email: (m.reports_to.email if m.reports_to_id else None) for email, m in existing.items()
    }
    parents.update({row.email: row.reports_to for row in rows})
    line_of = {row.email: row.line for row in rows}
    for row in rows:
        if row.reports_to is not None and row.reports_to not in parents:
            problem(row.line, f"unknown manager {row.reports_to}")
        elif row.reports_to in existing and not existing[row.reports_to].is_active:
            problem(row.line, f"manager {row.reports_to} is inactive")
    roots = [email for email, parent in parents.items() if parent is None]
    if len(roots) > 1:
        described = ", ".join(
            f"{email} ({unit} {line_of[email]})" if email in line_of else f"{email} (current top)"
            for email in roots
        )
        for email in roots:
            if email in line_of:
                problem(line_of[email], f"two roots: {described} report to nobody")
    elif not roots and parents:
        for row in rows:
            if existing.get(row.email) and existing[row.email].reports_to_id is None:
                problem(row.line, f"{row.email} is the top of the organization: leave it empty")
    state: dict[str, int] = {}  # 1: on the current path, 2: known to reach the root
    # From the file's rows in line order: a cycle is told from its first line, whatever order
    # the database returned the existing members in.
    for start in [*line_of, *(email for email in parents if email not in line_of)]:
        path = []
        email: str | None = start
        while email is not None and email in parents and state.get(email) is None:
            state[email] = 1
            path.append(email)
            email = parents[email]
        if email is not None and state.get(email) == 1:
            cycle = path[path.index(email) :]
            chain = " -> ".join([*cycle, email])
            for member_email in cycle:
                if member_email in line_of:
                    problem(line_of[member_email], f"reports_to makes a cycle: {chain}")
        for member_email in path:
            state[member_email] = 2
    return parents


def _check_keeps_an_admin(
    rows: list[_Row], existing: dict[str, Member], problems: list[Problem], unit: str
) -> None:
    """Rows that demote an active admin are refused when no active admin would remain."""
    admins = {email for email, m in existing.items() if m.is_active and m.is_admin}
    demoted = [row for row in rows if row.email in admins and row.role != Member.Role.ADMIN]
    if not demoted:
        return
    promoted = {
        row.email
        for row in rows
        if row.role == Member.Role.ADMIN
        and (row.email not in existing or existing[row.email].is_active)
    }
    if admins - {row.email for row in demoted} or promoted:
        return
    for row in demoted:
        problems.append(Problem(row.line, last_admin_problem(existing[row.email]), "role", unit))


def _sales_roles(
    rows: list[_Row], roles: dict[str, SalesRole], problems: list[Problem], unit: str
) -> None:
    """Rows naming a sales role the tenant does not have."""
    for row in rows:
        if row.sales_role and row.sales_role.lower() not in roles:
            known = ", ".join(sorted(role.name for role in roles.values())) or "none yet"
            problems.append(
                Problem(
                    row.line,
                    f"sales_role {row.sales_role!r} is not a sales role of this organization "
                    f"(its roles: {known}; add one under Settings, Role mapping)",
                    "sales_role",
                    unit,
                )
            )


def members_import(
    *,
    tenant: Tenant,
    file: TextIO,
    progress: Progress | None = None,
    actor: Actor = None,
    sales_role_at_once: bool = False,
) -> ImportResult:
    """Upsert members by email from a CSV file; raise MemberImportError listing every problem."""
    problems: list[Problem] = []
    records = list(_csv_records(file, problems))
    return members_upsert(
        tenant=tenant,
        records=records,
        progress=progress,
        problems=problems,
        actor=actor,
        sales_role_at_once=sales_role_at_once,
    )


def members_upsert(
    *,
    tenant: Tenant,
    records: Iterable[tuple[int, dict[str, str | None]]],
    progress: Progress | None = None,
    problems: list[Problem] | None = None,
    unit: str = "line",
    actor: Actor = None,
    sales_role_at_once: bool = False,
) -> ImportResult:
    """Upsert members by email from (position, record) pairs with the COLUMNS (and, if
    given, ``sales_role``) as keys.

    Everything is validated first; any problem raises MemberImportError and writes nothing.
    ``unit`` names the positions in messages: a CSV "line" or an API "record". Sales roles
    given or taken hold from the next cycle, or at once with ``sales_role_at_once``.
    """
    problems = [] if problems is None else problems
    rows = _parse(records, problems, unit)
    with scope(tenant=tenant):
        existing = {
            m.user.email: m
            for m in Member.objects.select_related("user", "reports_to__user", "sales_role")
        }
        roles = {role.name.lower(): role for role in SalesRole.objects.all()}
        parents = _check_tree(rows, existing, problems, unit)
        _check_keeps_an_admin(rows, existing, problems, unit)
        _sales_roles(rows, roles, problems, unit)
        if problems:
            raise MemberImportError(problems)
        for row in rows:  # the role's name as the tenant writes it
            if row.sales_role:
                row.sales_role = roles[row.sales_role.lower()].name
        changes = _role_changes(rows, existing, roles)
        with transaction.atomic():
            result = sales_roles_change(
                tenant_id=tenant.pk,
                changes={
                    email: (old.pk if old else None, new.pk if new else None)
                    for email, (old, new) in changes.items()
                },
                write=lambda: _write(tenant, rows, existing, parents, progress, roles),
                at_once=sales_role_at_once,
                actor=actor,
            )
            if result.created or result.updated or result.moved:
                after: dict[str, object] = dict(vars(result))
                if changes:
                    after["sales_roles"] = {
                        email: new.name if new else None for email, (_old, new) in changes.items()
                    }
                    after |= {"sales_role_at_once": True} if sales_role_at_once else {}
                audit_record(
                    tenant=tenant,
                    actor=actor,
                    action="members.import",
                    target=tenant,
                    after=after,
                )
                members_changed_on_commit(tenant.pk)
        return result


def _role_changes(
    rows: list[_Row], existing: dict[str, Member], roles: dict[str, SalesRole]
) -> dict[str, tuple[SalesRole | None, SalesRole | None]]:
    """Email -> (old role, new role) of each row whose sales role changes."""
    changes = {}
    for row in rows:
        if row.sales_role is None:
            continue
        member = existing.get(row.email)
        old = member.sales_role if member is not None else None
        new = roles[row.sales_role.lower()] if row.sales_role else None
        if old != new:
            changes[row.email] = (old, new)
    return changes


def _write(
    tenant: Tenant,
    rows: list[_Row],
    existing: dict[str, Member],
    parents: dict[str, str | None],
    progress: Progress | None,
    roles: dict[str, SalesRole],
) -> ImportResult:
    result = ImportResult()
    ordered = _parents_first(rows, parents)
    total, done = len(ordered), 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    with transaction.atomic():
        _lock_tree(tenant.pk)
        members = dict(existing)
        root = next((row for row in ordered if row.reports_to is None), None)
        if root is not None and root.email not in members:
            # A new tenant's top is created with the tree's own bookkeeping, outside the delay;
            # its sales role is written here, inside the import's one sales_roles_change.
            top = member_create(
                tenant=tenant, email=root.email, name=root.name, role=root.role, title=root.title
            )
            if root.sales_role:
                top.sales_role = roles[root.sales_role.lower()]
                top.save(update_fields=["sales_role"])
            members[root.email] = top
            result.created += 1
            ordered.remove(root)
            step()
        new_users = {
            row.email: get_user_model()(
                username=login_username(tenant.pk, row.email), email=row.email
            )
            for row in ordered
            if row.email not in members
        }
        for user in new_users.values():
            user.set_unusable_password()
        get_user_model()._default_manager.bulk_create(new_users.values(), batch_size=1000)
        lines = _Lines()
        with Member._tree_manager.delay_mptt_updates():
            for row in ordered:
                _upsert(tenant, row, members, new_users, result, lines, roles)
                step()
        lines_write(tenant_id=tenant.pk, added=lines.added, moved=lines.moved)
    return result


@dataclass
class _Lines:
    """Reporting lines an import starts: new members' first ones, moved members' next ones
    (member id -> manager id), all at one moment."""

    added: dict[int, int | None] = field(default_factory=dict)
    moved: dict[int, int | None] = field(default_factory=dict)


def _upsert(
    tenant: Tenant,
    row: _Row,
    members: dict[str, Member],
    new_users: dict,
    result: ImportResult,
    lines: _Lines,
    roles: dict[str, SalesRole],
) -> None:
    manager = members[row.reports_to] if row.reports_to else None
    member = members.get(row.email)
    given = roles[row.sales_role.lower()] if row.sales_role else None
    if member is None:
        member = Member(
            tenant=tenant,
            user=new_users[row.email],
            name=row.name,
            role=row.role,
            title=row.title,
            sales_role=given,
            reports_to=manager,
        )
        member.save()
        members[row.email] = member
        lines.added[member.pk] = member.reports_to_id
        result.created += 1
        return
    moved = (member.reports_to_id or None) != (manager.pk if manager else None)
    sales_role = member.sales_role if row.sales_role is None else given
    changed = (member.name, member.role, member.title, member.sales_role) != (
        row.name,
        row.role,
        row.title,
        sales_role,
    )
    if not (moved or changed):
        result.unchanged += 1
        return
    member.name, member.role, member.title = row.name, row.role, row.title
    member.sales_role = sales_role
    if moved:
        member.reports_to = manager
        lines.moved[member.pk] = manager.pk if manager else None
        result.moved += 1
    else:
        result.updated += 1
    member.save()


def _parents_first(rows: list[_Row], parents: dict[str, str | None]) -> list[_Row]:
    """File rows ordered so every manager is written before their reports."""
    depth: dict[str, int] = {}

    def depth_of(email: str) -> int:
        if email not in depth:
            parent = parents.get(email)
            depth[email] = 0 if parent is None else depth_of(parent) + 1
        return depth[email]

    return sorted(rows, key=lambda row: (depth_of(row.email), row.line))


def members_export(*, tenant: Tenant, file: TextIO) -> int:
    """Write the tenant's active members in tree order, in the import's format."""
    writer = NeutralDictWriter(file, fieldnames=EXPORTED)
    writer.writeheader()
    count = 0
    with scope(tenant=tenant):
        members = (
            Member.objects.filter(is_active=True)
            .select_related("user", "reports_to__user", "sales_role")
            .order_by("lft")
        )
        for member in members:
            manager = member.reports_to.user.email if member.reports_to_id else ""
            writer.writerow(
                {
                    "email": member.user.email,
                    "name": member.name,
                    "role": member.role,
                    "reports_to": manager,
                    "title": member.title,
                    "sales_role": member.sales_role.name if member.sales_role_id else "",
                }
            )
            count += 1
    return count
