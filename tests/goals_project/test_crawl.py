"""No dead ends, followed to the end: from each role's home page, every link a page shows that
role is followed, and the pages those lead to in turn, until nothing new is shown; none answers
4xx or 5xx. (The browser walk checks how the navigation's pages look; this one reaches every
page a role can click its way to, and runs without a browser.)"""

from __future__ import annotations

import re
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client

from achievements.services import goal_recompute
from goals.services import TargetInput
from hierarchy.models import Member
from tests.conftest import Org, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager", "at_noon")]

# Pages of one shape (a record, a member, a goal: the same view with another id or query) are
# alike: a few of each are followed, so the walk ends on any amount of data.
PER_SHAPE = 3
LEFT_ALONE = ("/static/", "/logout", "/api/")  # files; a POST; the API answers tokens, not pages


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href and not href.startswith(("mailto:", "tel:", "javascript:")):
            self.hrefs.append(href)


def shape(url: str) -> str:
    parts = urlsplit(url)
    query = "&".join(sorted(p.split("=")[0] for p in parts.query.split("&") if p))
    return re.sub(r"\d+", "N", parts.path) + "?" + query


def crawl(client: Client) -> tuple[dict[str, int], int]:
    """Every page reachable from the home page by links: those that answered 4xx or 5xx, by
    the page that showed the link, and how many pages were seen."""
    seen, shapes, dead = {"/"}, Counter(), {}
    queue = deque([("/", "home")])
    while queue:
        url, shown_on = queue.popleft()
        response = client.get(url)
        if response.status_code >= 400:
            dead[f"{url} (linked from {shown_on})"] = response.status_code
            continue
        if response.status_code in (301, 302):
            found = [response["Location"]]
        elif "text/html" in response.get("Content-Type", ""):
            parser = Links()
            parser.feed(response.content.decode())
            found = parser.hrefs
        else:
            continue
        for href in found:
            target = urljoin(url, href).split("#")[0]
            parts = urlsplit(target)
            if parts.netloc not in ("", "testserver") or parts.path.startswith(LEFT_ALONE):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in seen or shapes[shape(target)] >= PER_SHAPE:
                continue
            seen.add(target)
            shapes[shape(target)] += 1
            queue.append((target, url))
    return dead, len(seen)


@pytest.mark.parametrize("role", ["admin", "manager", "rep"])
def test_no_link_any_role_is_shown_leads_to_a_4xx_or_5xx(org: Org, role: str) -> None:
    goal = org.goal(actor=org.admin, team=org.admin, targets={"dialled_calls": TargetInput(30)})
    org.goal(name="East's own", targets={"dialled_calls": TargetInput(12)})
    org.log(*(org.call(n) for n in range(3)))
    org.log({"external_id": "L-1", "owner_email": org.rep.email, "name": "Ada"}, entity="lead")
    goal_recompute(goal.pk)
    member: Member = {"admin": org.admin, "manager": org.east, "rep": org.rep}[role]
    dead, pages = crawl(client_for(member))
    assert dead == {}
    assert pages >= {"admin": 90, "manager": 60, "rep": 18}[role]  # the walk went somewhere
