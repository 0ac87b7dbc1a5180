from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from goals.models import tenant_today
from goals.services import GoalDraft, TargetInput, goal_save
from hierarchy.services import api_token_create
from rulesets.services import ruleset_save
from tests.conftest import client_for
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["assigned_to_me", "my_team", "goal_list", "ruleset_list", "organization"]


def _tenant_object_patterns() -> dict[str, list[str]]:
    """Every named route of ours that takes an object id, with its parameters (new routes are
    covered automatically)."""

    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.app_name != "admin":
                    yield from walk(p.url_patterns)
            elif isinstance(p, URLPattern) and "pk" in p.pattern.converters:
                yield p.name, list(p.pattern.converters)

    return dict(walk(get_resolver().url_patterns))


def test_it_finds_the_routes_that_take_ids():
    routes = _tenant_object_patterns()
    assert {"member_detail", "api_token_revoke", "ruleset_edit", "rule_preview_edit"} <= set(routes)


RULESET_ROUTES = ("ruleset_", "rule_", "condition_", "preset_")


def _tenant_a_ids(personas, route: str) -> list[int]:
    """Ids of tenant A's objects of the kind the route takes (members unless listed)."""
    tenant = personas.admin.tenant
    if route.startswith("api_token"):
        token, _ = api_token_create(tenant=tenant, name=f"A's token for {route}")
        return [token.pk]
    if route.startswith("goal_"):
        rules = [{"key": "calls", "entity": "activity"}]
        ruleset = ruleset_save(tenant=tenant, name=f"A's goal rules for {route}", rules=rules)
        today = tenant_today(tenant)
        draft = GoalDraft(
            name=f"A's goal for {route}",
            ruleset=ruleset,
            team=personas.admin,
            cycle="monthly",
            start=today,
            end=today + timedelta(days=40),
            targets={"calls": TargetInput(Decimal(10))},
        )
        return [goal_save(draft=draft, actor=personas.admin).pk]
    if route.startswith(RULESET_ROUTES):
        rules = [{"key": "calls", "entity": "activity"}]
        return [ruleset_save(tenant=tenant, name=f"A's rules for {route}", rules=rules).pk]
    return [personas.admin.pk, personas.manager.pk, personas.rep.pk]


def test_it_answers_404_to_another_tenant_for_every_object(personas):
    outsider = client_for(personas.outsider)
    for name, parameters in _tenant_object_patterns().items():
        for pk in _tenant_a_ids(personas, name):
            kwargs = dict.fromkeys(parameters, 0) | {"pk": pk}  # other parameters: positions
            url = reverse(name, kwargs=kwargs)
            assert outsider.get(url).status_code == 404, (name, pk)
            assert outsider.post(url, {"name": "x", "reports_to": ""}).status_code == 404
    personas.rep.refresh_from_db()
    assert personas.rep.name != "x" and personas.rep.is_active


def test_it_does_not_show_another_tenants_members_anywhere(personas):
    outsider = client_for(personas.outsider)
    for page in PAGES:
        body = outsider.get(reverse(page)).content.decode()
        for member in (personas.admin, personas.manager, personas.rep):
            assert member.name not in body
            assert member.email not in body


@pytest.mark.parametrize("page", PAGES + ["member_detail"])
def test_it_sends_logged_out_visitors_to_login(personas, page):
    kwargs = {"pk": personas.rep.pk} if page == "member_detail" else {}
    url = reverse(page, kwargs=kwargs)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("admin", {"assigned_to_me", "my_team", "goal_list", "ruleset_list", "organization"}),
        ("manager", {"assigned_to_me", "my_team", "goal_list", "organization"}),
        ("rep", {"assigned_to_me"}),
    ],
)
def test_it_limits_pages_by_role(personas, persona, allowed):
    client = client_for(getattr(personas, persona))
    for page in PAGES:
        expected = 200 if page in allowed else 403
        assert client.get(reverse(page)).status_code == expected, page


def test_it_shows_navigation_fitting_the_role(personas):
    body = client_for(personas.rep).get(reverse("assigned_to_me")).content.decode()
    assert "Assigned to me" in body
    assert personas.rep.name in body and personas.rep.tenant.name in body
    for hidden in ("My team", "Rulesets", "Organization"):
        assert f">{hidden}</a>" not in body
    body = client_for(personas.admin).get(reverse("assigned_to_me")).content.decode()
    for shown in ("Assigned to me", "My team", "Goals", "Rulesets", "Organization"):
        assert f">{shown}</a>" in body


def test_it_shows_an_honest_empty_state(personas):
    body = client_for(personas.rep).get(reverse("assigned_to_me")).content.decode()
    assert "No goals in progress" in body


def test_it_shows_managers_only_their_subtree(personas):
    manager = client_for(personas.manager)
    body = manager.get(reverse("organization")).content.decode()
    assert personas.rep.name in body and personas.admin.name not in body
    assert manager.get(reverse("member_detail", args=[personas.admin.pk])).status_code == 404
    assert manager.get(reverse("member_detail", args=[personas.rep.pk])).status_code == 200


def test_it_lists_direct_reports_on_my_team(personas):
    body = client_for(personas.manager).get(reverse("my_team")).content.decode()
    assert personas.rep.name in body


def test_it_lets_reps_see_only_themselves(personas):
    rep = client_for(personas.rep)
    assert rep.get(reverse("member_detail", args=[personas.rep.pk])).status_code == 200
    assert rep.get(reverse("member_detail", args=[personas.manager.pk])).status_code == 404


def test_it_logs_in_by_email_in_any_case(personas):
    client = Client()
    response = client.post(
        reverse("login"), {"username": personas.rep.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("assigned_to_me")).status_code == 200


def test_it_explains_a_failed_login(personas):
    response = Client().post(reverse("login"), {"username": personas.rep.email, "password": "no"})
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_it_logs_out(personas):
    client = client_for(personas.rep)
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("assigned_to_me")).status_code == 302


def test_it_tells_a_user_without_a_member_so():
    user = get_user_model().objects.create_user("loner", "loner@example.com", PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get(reverse("assigned_to_me"))
    assert response.status_code == 403
    assert "not part of an organization" in response.content.decode()


def test_it_sends_platform_staff_to_the_admin(personas):
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("assigned_to_me"))
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    page = client.get(reverse("admin:hierarchy_member_changelist"))
    assert page.status_code == 200
    assert personas.rep.name in page.content.decode()
