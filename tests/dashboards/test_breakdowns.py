"""Breakdowns: a number split by a field, its "(none)" and "Other" bars, ratios as sum over sum
per bar, links that list exactly each bar's records, isolation and a query budget."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django_scopes import scope
from hypothesis import given
from hypothesis import strategies as st

from achievements.models import Achievement
from achievements.services import goal_recompute
from dashboards.breakdowns import bars_split, breakdown_fields
from dashboards.records import Rules
from goals.models import Goal
from goals.services import GoalDraft, TargetInput, goal_save
from rulesets.catalogue import CustomFieldDecl
from rulesets.parts import Parts
from rulesets.presets import preset_rules
from rulesets.services import ruleset_save
from rulesets.spec import ruleset_parse
from tests.conftest import Org, client_for
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

# Completed calls of last month by campaign (a custom text field of activities): None is a
# call without one, "" one sent blank (an import's empty cell).
CAMPAIGNS = ["Spring"] * 5 + ["Fall"] * 3 + ["Winter"] * 2 + ["Summer"] + [None] * 3 + [""]
# Leads of last month by source: (source, converted?)
LEADS = [("Web", True), ("Web", True), ("Web", False), ("Web", False), ("Referral", True),
         ("Referral", False), ("", True), ("", False), (None, False), ("Event", False)]  # fmt: skip


@pytest.fixture
def goal(org: Org) -> Goal:
    return campaign_goal(org)


def campaign_goal(org: Org) -> Goal:
    """A monthly goal of the company from last month on (backfilled), with last month's calls
    (``CAMPAIGNS``) and leads (``LEADS``) logged and computed."""
    start = (org.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    goal = org.goal(
        actor=org.admin,
        team=org.admin,
        start=start,
        backfill=True,
        targets={"dialled_calls": TargetInput(60), "conversion_rate": TargetInput(30)},
    )
    owners = [org.rep, org.rep2, org.sdr]
    calls = [
        org.call(n, at=f"{start}T{9 + n % 8:02}:00", owner=owners[n % 3])
        | ({"attributes": {"campaign": campaign}} if campaign is not None else {})
        for n, campaign in enumerate(CAMPAIGNS)
    ]
    calls.append(org.call(99, at=f"{start}T10:00") | {"status": "planned"})  # not counted
    org.log(*calls)
    leads = [
        {"external_id": f"l{n}", "owner_email": owners[n % 3].email, "name": f"Lead {n}",
         "created_at": f"{start}T09:00", "status": "converted" if converted else "new",
         **({"source": source} if source is not None else {}),
         **({"converted_at": f"{start}T10:00"} if converted else {})}
        for n, (source, converted) in enumerate(LEADS)
    ]  # fmt: skip
    org.log(*leads, entity="lead")
    goal_recompute(goal.pk)
    return goal


def rule_id(goal: Goal, key: str) -> int:
    with scope(tenant=goal.tenant_id):
        return goal.ruleset.rules.get(key=key).pk


def url(goal: Goal, key: str, by: str, member: int, **extra: object) -> str:
    query = f"goal={goal.pk}&rule={rule_id(goal, key)}&member={member}&cycle=0&scope=team&by={by}"
    return "/numbers/breakdown/?" + query + "".join(f"&{k}={v}" for k, v in extra.items())


def team_value(goal: Goal, key: str, member: int) -> Decimal:
    with scope(tenant=goal.tenant_id):
        return Achievement.objects.get(
            goal=goal, rule__key=key, member_id=member, cycle_index=0
        ).team_value


def shown(response) -> list[tuple[str, str, list[str]]]:  # noqa: ANN001
    """Each row of a breakdown: its label, value and the texts of its links."""
    rows = response.context["rows"]
    return [(row["label"], row["value"], [link["text"] for link in row["links"]]) for row in rows]


def test_it_splits_with_the_empty_bucket_and_other_beyond_the_top(org: Org, goal: Goal) -> None:
    admin = client_for(org.admin)
    response = admin.get(url(goal, "dialled_calls", "custom.campaign", org.admin.pk, top=2))
    assert response.status_code == 200
    assert shown(response) == [
        ("Spring", "5", ["5 records"]),
        ("Fall", "3", ["3 records"]),
        ("(none)", "4", ["4 records"]),  # no campaign and a blank one: one bar
        ("Other", "3", ["3 records"]),  # Winter and Summer
        ("All", "15", ["15 records"]),
    ]
    assert team_value(goal, "dialled_calls", org.admin.pk) == 15  # the bars add up to it
    body = response.content.decode()
    assert 'class="hbars"' in body and 'style="width: 100%"' in body and "Campaign" in body
    everything = admin.get(url(goal, "dialled_calls", "custom.campaign", org.admin.pk))
    labels = [row[0] for row in shown(everything)]
    assert labels == ["Spring", "Fall", "Winter", "Summer", "(none)", "All"]


def test_each_bars_link_lists_exactly_the_records_behind_it(org: Org, goal: Goal) -> None:
    admin = client_for(org.admin)
    # (rule, field, top N, whether the values beyond the top make an "Other" bar)
    asked = [("dialled_calls", "custom.campaign", 2, True), ("conversion_rate", "source", 1, True),
             ("dialled_calls", "type", 8, False)]  # fmt: skip
    for key, by, top, other in asked:
        rows = admin.get(url(goal, key, by, org.admin.pk, top=top)).context["rows"]
        assert any(row["label"] == "Other" for row in rows) is other
        for row in rows:
            for link in row["links"]:
                listed = admin.get(link["url"])
                assert listed.status_code == 200, link["url"]
                count = listed.context["page"].paginator.count
                if key == "dialled_calls":
                    assert link["text"] == f"{count} record{'s' if count != 1 else ''}"
                    assert listed.context["counted"] == count
                else:  # a count of leads on each side
                    assert Decimal(link["text"]) == count == listed.context["counted"]


def test_the_other_bar_lists_the_values_not_shown_on_their_own(org: Org, goal: Goal) -> None:
    admin = client_for(org.admin)
    rows = admin.get(url(goal, "dialled_calls", "custom.campaign", org.admin.pk, top=2))
    other = next(row for row in rows.context["rows"] if row["label"] == "Other")
    listed = admin.get(other["links"][0]["url"])
    ids = {row[0] for row in listed.context["rows"]}  # the "When" column: one per call
    assert len(ids) == listed.context["page"].paginator.count == 3
    assert "other than Spring, Fall" in listed.content.decode()
    none = next(row for row in rows.context["rows"] if row["label"] == "(none)")
    assert "Campaign: (none)" in admin.get(none["links"][0]["url"]).content.decode()


def test_a_ratio_splits_as_sum_over_sum_per_bucket(org: Org, goal: Goal) -> None:
    response = client_for(org.admin).get(url(goal, "conversion_rate", "source", org.admin.pk))
    assert shown(response) == [
        ("Web", "50.0%", ["2", "4"]),
        ("Referral", "50.0%", ["1", "2"]),
        ("Event", "0.0%", ["0", "1"]),
        ("(none)", "33.3%", ["1", "3"]),  # "" and no source at all
        ("All", "40.0%", ["4", "10"]),  # 4 / 10, not the mean of the bars' rates
    ]
    assert team_value(goal, "conversion_rate", org.admin.pk) == Decimal(40)
    east = client_for(org.east).get(url(goal, "conversion_rate", "source", org.east.pk))
    assert shown(east)[-1] == ("All", "57.1%", ["4", "7"])  # the rep's and Rita's leads only
    rate = team_value(goal, "conversion_rate", org.east.pk)
    assert rate.quantize(Decimal("0.1")) == Decimal("57.1")


def test_the_htmx_swap_gets_the_breakdown_alone(org: Org, goal: Goal) -> None:
    response = client_for(org.admin).get(
        url(goal, "dialled_calls", "type", org.admin.pk), headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="breakdown"') and "<html" not in body
    page = client_for(org.admin).get(f"/goals/{goal.pk}/progress/").content.decode()
    assert 'hx-get="/numbers/breakdown/"' in page and "Break down" in page
    assert '<option value="custom.campaign">Campaign</option>' in page
    assert '<option value="source">Source</option>' in page  # the conversion rate's


def test_people_outside_a_number_get_404(org: Org, goal: Goal) -> None:
    outsider = client_for(org.personas.outsider)
    assert outsider.get(url(goal, "dialled_calls", "type", org.admin.pk)).status_code == 404
    mine = url(goal, "dialled_calls", "type", org.personas.outsider.pk)
    assert client_for(org.admin).get(mine).status_code == 404  # another tenant's member
    for viewer, subject in ((org.rep, org.east), (org.west, org.rep)):  # not their part
        asked = url(goal, "dialled_calls", "type", subject.pk)
        assert client_for(viewer).get(asked).status_code == 404
    admin = client_for(org.admin)
    assert admin.get(url(goal, "dialled_calls", "owner", org.admin.pk)).status_code == 404
    assert admin.get(url(goal, "dialled_calls", "duration", org.admin.pk)).status_code == 404
    records = "/numbers/records/?" + url(goal, "dialled_calls", "nope", org.admin.pk).split("?")[1]
    assert admin.get(records).status_code == 404
    theirs = other_tenants_goal(org)
    assert admin.get(url(theirs, "dialled_calls", "type", org.admin.pk)).status_code == 404
    assert admin.get(f"/goals/{theirs.pk}/progress/").status_code == 404


def other_tenants_goal(org: Org) -> Goal:
    """A goal of tenant B, with a ruleset of its own."""
    outsider = org.personas.outsider
    rules = preset_rules("dialled_calls")
    ruleset = ruleset_save(tenant=outsider.tenant, name="Theirs", rules=rules)
    draft = GoalDraft(name="Theirs", ruleset=ruleset, team=outsider, cycle="monthly",
                      start=org.today, end=org.today + timedelta(days=40),
                      targets={"dialled_calls": TargetInput(5)})  # fmt: skip
    return goal_save(draft=draft, actor=outsider)


@pytest.mark.parametrize("extra", [0, 300])
def test_the_query_count_does_not_grow_with_the_team(
    org: Org, goal: Goal, extra: int, django_assert_max_num_queries
) -> None:
    for n in range(extra):
        MemberFactory(reports_to=org.east if n % 2 else org.west)
    admin = client_for(org.admin)
    for key, by in (("dialled_calls", "type"), ("conversion_rate", "source")):
        asked = url(goal, key, by, org.admin.pk)
        with django_assert_max_num_queries(13):  # a ratio: one grouped query per side
            assert admin.get(asked).status_code == 200


def test_a_ratio_splits_by_the_fields_both_its_sides_have() -> None:
    specs = {
        spec.key: spec
        for spec in ruleset_parse(
            [
                {"key": "won", "entity": "opportunity"},
                {"key": "leads", "entity": "lead"},
                {"key": "calls", "entity": "activity"},
                {
                    "key": "per_lead",
                    "aggregation": "ratio",
                    "numerator": "won",
                    "denominator": "leads",
                },
                {
                    "key": "per_call",
                    "aggregation": "ratio",
                    "numerator": "calls",
                    "denominator": "calls",
                },
            ]  # fmt: skip
        )
    }
    segments = [CustomFieldDecl(entity, "segment", "choice", ("SMB", "Enterprise"))
                for entity in ("lead", "opportunity")]  # fmt: skip
    # A lead's status is not a deal's; the account each names is the same kind of record.
    accounts = ["account", "account_segment", "account_channel"]
    assert [f.name for f in breakdown_fields(specs["per_lead"], specs, [])] == accounts
    shared = breakdown_fields(specs["per_lead"], specs, segments)
    assert [f.name for f in shared] == [*accounts, "custom.segment"]
    names = [f.name for f in breakdown_fields(specs["per_call"], specs, [])]
    assert names == [f.name for f in breakdown_fields(specs["calls"], specs, [])]
    assert names == ["type", "category", "status", "outcome", "lead"]


values = st.sampled_from([None, "a", "b", "c", "d", "e"])


@given(
    counts=st.dictionaries(values, st.integers(1, 50), max_size=6),
    top=st.integers(1, 6),
    aggregation=st.sampled_from(["count", "sum", "average", "max"]),
)
def test_the_bars_hold_every_record_once(counts, top, aggregation) -> None:
    (spec,) = ruleset_parse(
        [
            {"key": "r", "entity": "activity", "aggregation": aggregation}
            | ({} if aggregation == "count" else {"field": "duration"})
        ]  # fmt: skip
    )
    rules = Rules(spec, {"r": spec}, [])
    side = {v: Parts(count=n, total=Decimal(n * 3), maximum=Decimal(n)) for v, n in counts.items()}
    bars, total = bars_split(rules, "outcome", [side], top)
    assert sum(bar.parts[0].count for bar in bars) == total.parts[0].count == sum(counts.values())
    named = [bar for bar in bars if bar.bucket.others is None and bar.bucket.value is not None]
    assert len(named) == min(top, len([v for v in counts if v is not None]))
    assert [bar.label for bar in bars].count("(none)") == (None in counts)
    weights = [bar.parts[0].count if aggregation in ("average", "max") else bar.value
               for bar in named]  # fmt: skip
    assert weights == sorted(weights, reverse=True)


def test_a_ratio_of_deals_won_per_lead_splits_by_the_accounts_segment(org: Org) -> None:
    """Each bar is its segment's deals over its leads; a record naming no account, or one whose
    segment is blank, is in "(none)"; each side's link lists exactly its records."""
    rules = [{"key": "won", "name": "Deals won", "entity": "opportunity",
              "conditions": [{"field": "status", "op": "eq", "value": "won"}]},
             {"key": "leads", "name": "Leads", "entity": "lead"},
             {"key": "per_lead", "name": "Won per lead", "aggregation": "ratio",
              "numerator": "won", "denominator": "leads"}]  # fmt: skip
    ruleset = ruleset_save(tenant=org.admin.tenant, name="Accounts", rules=rules)
    start = (org.today.replace(day=1) - timedelta(days=1)).replace(day=1)
    goal = org.goal(actor=org.admin, team=org.admin, start=start, backfill=True, ruleset=ruleset,
                    targets={"per_lead": TargetInput(1)})  # fmt: skip
    accounts = {"a1": "SMB", "a2": "", "a3": "Enterprise"}
    org.log(*({"external_id": key, "name": key, "segment": segment}
              for key, segment in accounts.items()), entity="account")  # fmt: skip
    named = ["a1", "a1", "a1", "a2", None, "a3"]  # leads; deals won: the first of each
    org.log(*({"external_id": f"l{n}", "owner_email": org.rep.email, "name": f"Lead {n}",
               "created_at": f"{start}T09:00", "account_external_id": account}
              for n, account in enumerate(named)), entity="lead")  # fmt: skip
    org.log(*({"external_id": f"d{n}", "owner_email": org.rep.email, "name": f"Deal {n}",
               "stage": "Negotiation", "status": "won", "value": "10",
               "closed_at": f"{start}T11:00",
               "account_external_id": account}
              for n, account in enumerate(["a1", "a2", None])), entity="opportunity")  # fmt: skip
    goal_recompute(goal.pk)
    admin = client_for(org.admin)
    response = admin.get(url(goal, "per_lead", "account_segment", org.admin.pk))
    assert response.status_code == 200
    assert [(label, links) for label, _value, links in shown(response)] == [
        ("SMB", ["1", "3"]),  # ranked by their leads
        ("Enterprise", ["0", "1"]),
        ("(none)", ["2", "2"]),  # no account, and a2's blank segment
        ("All", ["3", "6"]),
    ]
    for row in response.context["rows"]:
        for link in row["links"]:
            listed = admin.get(link["url"])
            assert listed.status_code == 200
            assert Decimal(link["text"]) == listed.context["page"].paginator.count
