"""The demo's three dashboards by audience render with real numbers for their audience, and
every number they link ties out to the records behind it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from crm.models import Opportunity
from dashboards.audience import Shown, Viewpoint, dashboard_shown
from dashboards.models import Dashboard
from hierarchy.models import Member, Tenant
from lab.demo_dashboards import demo_dashboards_build
from lab.demo_goals import demo_goals_build
from lab.demo_roles import demo_roles_build
from lab.demo_tenant import demo_domain, demo_tenant_build
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"<strong>(?:[A-Z]{3} )?([\d,.]+)</strong>")


def _numbers(html: str) -> list[float]:
    return [float(found.replace(",", "")) for found in NUMBER.findall(html)]


# A fixed moment: the demo's data follows the clock, and in the first days of a month its
# running cycle may have no won deal yet to split.
MID_MONTH = datetime(2026, 11, 18, 15, tzinfo=UTC)


@pytest.fixture
def demo() -> Iterator[Tenant]:
    """The demo tenant with its goals and sales roles, the clock at ``MID_MONTH`` (ticking)
    while the test runs."""
    with time_machine.travel(MID_MONTH, tick=True):
        demo_tenant_build(slug="demo", members=12, days=60, activities=4000)
        tenant = Tenant.objects.get(slug="demo")
        demo_goals_build(tenant)
        demo_roles_build(tenant)
        yield tenant


def test_the_demo_dashboards_show_real_numbers_to_their_audience(demo: Tenant) -> None:
    tenant = demo
    built = demo_dashboards_build(tenant)
    assert [d.title for d in built] == ["Management", "Account executives", "SDRs"]
    assert [d.pk for d in demo_dashboards_build(tenant)] == [d.pk for d in built]  # made once
    with scope(tenant=tenant):
        admin = Member.objects.select_related("user", "tenant").get(
            user__email=f"admin@{demo_domain('demo')}"
        )
        sdr = (
            Member.objects.select_related("user", "tenant")
            .filter(sales_role__name="SDR", is_active=True)
            .first()
        )
        pages = {d.title: d.pk for d in Dashboard.objects.all()}
    client = client_for(admin)
    management = client.get(reverse("audience_dashboard", args=[pages["Management"]]))
    html = management.content.decode()
    for name in ("Value of deals won by account segment", "Average deal size", "Meetings booked",
                 "CAC", "LTV", "LTV:CAC", "Total sales value by channel"):  # fmt: skip
        assert name in html, name
    # Every demo deal names an account, and every account has a segment: no "(none)" bar.
    with scope(tenant=tenant):
        assert not Opportunity.objects.filter(Q(account=None) | Q(account__segment="")).exists()
    split = html[html.index('class="breakdown" aria-label="Value of deals won by account') :]
    rows = re.findall(r'<th scope="row">([^<]*)</th>', split[: split.index("</section>")])
    assert "All" in rows and set(rows) - {"All"}, rows  # the breakdown shows its segments
    assert set(rows) <= {"SMB", "Mid-market", "Enterprise", "All"}
    assert any(_numbers(html)), "every number is zero"
    leading, lagging = html.index("Leading indicators"), html.index("Lagging indicators")
    assert leading < html.index("Meetings booked") < lagging < html.index("Average deal size")
    ae = client.get(reverse("audience_dashboard", args=[pages["Account executives"]]))
    assert "Open opportunities by stage" in ae.content.decode()
    assert "Proposals sent" in ae.content.decode()

    sdr_client = client_for(sdr)
    page = sdr_client.get(reverse("audience_dashboard", args=[pages["SDRs"]]))
    html = page.content.decode()
    for name in ("Meetings booked", "Calls made", "Emails sent", "LinkedIn connection requests"):
        assert name in html, name
    assert "pace-" in html  # a KPI with a goal shows its status
    assert any(_numbers(html))
    # an SDR sees no managers' dashboard, nor another role's
    assert (
        sdr_client.get(reverse("audience_dashboard", args=[pages["Management"]])).status_code == 404
    )
    assert (
        sdr_client.get(
            reverse("audience_dashboard", args=[pages["Account executives"]])
        ).status_code
        == 404
    )


def _linked(shown: Shown) -> list[tuple[str, Decimal | None, int | None]]:
    """Every link of a metric: its URL, the number it stands for and, for a bar of a
    breakdown, how many records it says it holds."""
    links = [(bar.records_url, bar.value, None) for bar in shown.bars if bar.records_url]
    if shown.records:
        links.append((shown.records, shown.value, None))
    links += [(point.records, point.value, None) for point in shown.trend.get("points", [])]
    for row in shown.breakdown.get("rows", []):
        (link,), (count,) = row["links"], row["counts"]  # the demo splits no ratio
        links.append((link["url"], row["number"], count))
    return links


def _same(counted: Decimal | None, shown: Decimal | None) -> bool:
    if counted is None or shown is None:
        return counted is shown  # nothing to count: no value either side
    return abs(counted - shown) < Decimal("0.01")


def test_every_number_of_the_demo_dashboards_ties_out_to_its_records(demo: Tenant) -> None:
    tenant = demo
    demo_dashboards_build(tenant)
    checked = 0
    with scope(tenant=tenant):
        members = Member.objects.select_related("user", "tenant", "sales_role")
        admin = members.get(user__email=f"admin@{demo_domain('demo')}")
        viewers = {
            "Management": admin,
            "Account executives": members.filter(sales_role__name="Account executive").first(),
            "SDRs": members.filter(sales_role__name="SDR", is_active=True).first(),
        }
        for dashboard in Dashboard.objects.all():
            viewer = viewers[dashboard.title]
            view = Viewpoint.of(viewer, reps_see_team=dashboard.reps_see_team)
            client = client_for(viewer)
            for shown in dashboard_shown(dashboard, view, timezone.now()):
                assert not shown.problem, shown.problem
                if rows := shown.breakdown.get("rows"):  # the bars' whole is the metric's value
                    metric = shown.bars[0].value if shown.bars else shown.value
                    assert rows[-1]["whole"] and _same(rows[-1]["number"], metric)
                for url, number, count in _linked(shown):
                    response = client.get(url)
                    assert response.status_code == 200, url
                    counted = response.context["counted"]
                    assert _same(counted, number), (shown.rule.name, url, counted, number)
                    if count is not None:
                        assert response.context["page"].paginator.count == count, url
                    checked += 1
    assert checked >= 95  # values, trend cycles and bars of all three dashboards
