from __future__ import annotations

import csv
import io
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from hierarchy.importer import MemberImportError, members_export, members_import
from hierarchy.models import Member, SalesRole
from hierarchy.signals import sales_roles_changed, sales_roles_changing
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

HEADER = "email,name,role,reports_to,title\n"
EXPORTED = "email,name,role,reports_to,title,sales_role"  # the optional column, empty here
ORG = (
    HEADER
    + "ceo@acme.example,Carla CEO,admin,,Chief Executive\n"
    + "west@acme.example,Wes West,manager,ceo@acme.example,Head of West\n"
    + "east@acme.example,Eve East,manager,ceo@acme.example,Head of East\n"
    + "r1@acme.example,Ron One,rep,west@acme.example,AE\n"
    + "r2@acme.example,Rae Two,rep,east@acme.example,AE\n"
)
CYCLE = "reports_to makes a cycle: a@acme.example -> b@acme.example -> a@acme.example"


def run_import(tenant, text: str):
    return members_import(tenant=tenant, file=io.StringIO(text))


def export(tenant) -> str:
    out = io.StringIO()
    members_export(tenant=tenant, file=out)
    return out.getvalue()


def problems(tenant, text: str) -> list[str]:
    with pytest.raises(MemberImportError) as exc:
        run_import(tenant, text)
    return [str(p) for p in exc.value.problems]


def test_it_imports_a_new_organization_and_exports_it_back_equal():
    tenant = TenantFactory()
    result = run_import(tenant, ORG)
    assert (result.created, result.updated, result.moved) == (5, 0, 0)
    assert export(tenant).splitlines()[0] == EXPORTED
    assert sorted(export(tenant).splitlines()[1:]) == sorted(
        f"{line}," for line in ORG.splitlines()[1:]
    )
    with scopes_disabled():
        west = Member.objects.get(user__email="west@acme.example")
        assert [m.name for m in Member.objects.subtree(west).order_by("lft")] == [
            "Wes West",
            "Ron One",
        ]
        assert west.level == 1 and west.tree_id == tenant.pk


def test_it_round_trips_import_export_import_unchanged():
    tenant = TenantFactory()
    run_import(tenant, ORG)
    first = export(tenant)
    result = run_import(tenant, first)
    assert (result.created, result.updated, result.moved, result.unchanged) == (0, 0, 0, 5)
    assert export(tenant) == first


def test_it_upserts_by_email_and_moves_subtrees():
    tenant = TenantFactory()
    run_import(tenant, ORG)
    change = HEADER + "WEST@acme.example,Wes West,manager,east@acme.example,Head of West\n"
    change += "r2@acme.example,Rae Two-Smith,rep,east@acme.example,AE\n"
    result = run_import(tenant, change)
    assert (result.created, result.updated, result.moved, result.unchanged) == (0, 1, 1, 0)
    with scopes_disabled():
        east = Member.objects.get(user__email="east@acme.example")
        team = {m.user.email for m in Member.objects.subtree(east, include_self=False)}
    assert team == {"west@acme.example", "r1@acme.example", "r2@acme.example"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "x@acme.example,X,rep,nobody@acme.example,\n",
            ["line 2: unknown manager nobody@acme.example"],
        ),
        (
            "not-an-email,X,rep,ceo@acme.example,\n",
            ["line 2: email 'not-an-email' is not a valid email address"],
        ),
        (
            "x@acme.example,X,boss,ceo@acme.example,\n",
            ["line 2: role 'boss' is not one of admin, manager, rep"],
        ),
        ("x@acme.example,,rep,ceo@acme.example,\n", ["line 2: name is empty"]),
        (
            "x@acme.example,X,rep,ceo@acme.example,\nX@acme.example,X2,rep,ceo@acme.example,\n",
            ["line 3: duplicate email x@acme.example (first on line 2)"],
        ),
        (
            "a@acme.example,A,rep,b@acme.example,\nb@acme.example,B,rep,a@acme.example,\n",
            [
                f"line 2: {CYCLE}",
                f"line 3: {CYCLE}",
            ],
        ),
        (
            "a@acme.example,A,admin,,\n",
            [
                "line 2: two roots: ceo@acme.example (current top), a@acme.example (line 2) "
                "report to nobody"
            ],
        ),
        (
            "ceo@acme.example,Carla CEO,admin,west@acme.example,\n",
            [
                "line 2: ceo@acme.example is the top of the organization: leave it empty",
                "line 2: reports_to makes a cycle: ceo@acme.example -> west@acme.example -> "
                "ceo@acme.example",
            ],
        ),
        (
            "x@acme.example,X,rep,ceo@acme.example,,extra\n",
            ["line 2: more values than the 5 columns"],
        ),
    ],
)
def test_it_reports_each_problem_with_its_line_number(rows, expected):
    tenant = TenantFactory()
    run_import(tenant, ORG)
    before = export(tenant)
    assert problems(tenant, HEADER + rows) == expected
    assert export(tenant) == before


def test_it_reports_two_roots_in_a_new_file():
    tenant = TenantFactory()
    text = HEADER + "a@x.example,A,admin,,\nb@x.example,B,admin,,\n"
    found = problems(tenant, text)
    assert len(found) == 2 and all("two roots" in p for p in found)


def test_it_refuses_bad_headers():
    tenant = TenantFactory()
    assert problems(tenant, "email,name,role\nx@a.example,X,rep\n") == [
        "line 1: missing column(s) reports_to, title; expected "
        "email,name,role,reports_to,title[,sales_role]"
    ]


def test_it_writes_nothing_when_one_row_is_bad():
    tenant = TenantFactory()
    bad = ORG + "r3@acme.example,Ray Three,rep,ghost@acme.example,AE\n"
    with pytest.raises(MemberImportError):
        run_import(tenant, bad)
    assert export(tenant).splitlines() == [EXPORTED]


def test_the_commands_share_the_importer(tmp_path):
    tenant = TenantFactory(slug="acme")
    path = tmp_path / "org.csv"
    path.write_text(ORG)
    out = StringIO()
    call_command("import_members", "--tenant=acme", str(path), stdout=out)
    assert "5/5 members" in out.getvalue()
    assert "5 created, 0 updated, 0 moved, 0 unchanged" in out.getvalue()
    exported = StringIO()
    call_command("export_members", "--tenant=acme", stdout=exported)
    assert exported.getvalue() == export(tenant)
    path.write_text(ORG + "bad,X,rep,,\n")
    with pytest.raises(CommandError) as exc:
        call_command("import_members", "--tenant=acme", str(path))
    assert "line 7: email 'bad' is not a valid email address" in str(exc.value)
    with pytest.raises(CommandError, match="No tenant with the slug 'nope'"):
        call_command("import_members", "--tenant=nope", str(path))


def test_the_benchmark_runs_and_leaves_nothing_behind():
    out = StringIO()
    call_command("bench_hierarchy", "--members=60", "--depth=4", stdout=out)
    assert "import 60 members in 4 levels" in out.getvalue()
    assert "open the editor at 60 members: " in out.getvalue()
    with scopes_disabled():
        assert not Member.objects.exists()


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "'quoted"]


def exported_cells(tenant) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(export(tenant))) for cell in row]


def test_it_exports_formula_cells_neutralized_and_imports_them_back_equal():
    tenant = TenantFactory()
    run_import(tenant, ORG)
    with scopes_disabled():
        members = Member.objects.filter(tenant=tenant).order_by("lft")
        for member, name, title in zip(members, FORMULAS, reversed(FORMULAS), strict=True):
            Member._tree_manager.filter(pk=member.pk).update(name=name, title=title)
        before = sorted(members.values_list("name", "title"))
    cells = exported_cells(tenant)
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]
    assert {'\'=HYPERLINK("http://x")', "'+1+1", "'-2", "'@SUM(A1)", "''quoted"} <= set(cells)
    result = run_import(tenant, export(tenant))
    assert (result.created, result.updated, result.moved) == (0, 0, 0)
    with scopes_disabled():
        assert sorted(members.values_list("name", "title")) == before


def test_it_exports_a_leading_tab_or_carriage_return_neutralized():
    tenant = TenantFactory()
    run_import(tenant, ORG)
    with scopes_disabled():
        Member._tree_manager.filter(tenant=tenant, level=1).update(name="\tTab", title="\rCR\rx")
    cells = exported_cells(tenant)
    assert cells.count("'\tTab") == cells.count("'\rCR\rx") == 2


@pytest.mark.django_db
def test_an_import_that_creates_the_top_tells_the_goals_of_its_roles_once() -> None:
    """The top of a new tenant is created by member_create; its sales role is one of the
    import's changes, announced once with the import's choice of 'at once', not again."""
    tenant = TenantFactory()
    with scopes_disabled():
        role = SalesRole.objects.create(tenant=tenant, name="SDR")
    heard: list[tuple[str, frozenset[int], bool | None]] = []

    def changing(sender, *, role_ids, **_):  # noqa: ANN001, ANN202
        heard.append(("changing", frozenset(role_ids), None))

    def changed(sender, *, role_ids, at_once, **_):  # noqa: ANN001, ANN202
        heard.append(("changed", frozenset(role_ids), at_once))

    sales_roles_changing.connect(changing)
    sales_roles_changed.connect(changed)
    try:
        csv_text = "email,name,role,reports_to,title,sales_role\ntop@example.com,Top,admin,,,sdr\n"
        members_import(tenant=tenant, file=io.StringIO(csv_text), sales_role_at_once=True)
    finally:
        sales_roles_changing.disconnect(changing)
        sales_roles_changed.disconnect(changed)
    assert heard == [("changing", {role.pk}, None), ("changed", {role.pk}, True)]
    with scopes_disabled():
        assert Member.objects.get(user__email="top@example.com").sales_role == role
