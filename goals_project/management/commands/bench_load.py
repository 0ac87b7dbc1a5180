from __future__ import annotations

import http.cookiejar
import json
import random
import re
import statistics
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.demo import DEMO_PASSWORD, demo_logins
from hierarchy.models import Tenant
from hierarchy.services import api_token_create

PAGES = {"rep": ["/me/"], "manager": ["/team/", "/me/"], "admin": ["/team/", "/overview/"]}


class Client:
    """One simulated person: a logged-in session (cookies) against a running server."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> int:
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def log_in(self, email: str) -> None:
        with self.opener.open(self.base + "/login/", timeout=30) as page:
            token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.read())
        if token is None:
            raise CommandError("No login form at /login/.")
        form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": email,
                "password": DEMO_PASSWORD}  # fmt: skip
        headers = {"Referer": self.base + "/login/"}
        status = self.request("/login/", urllib.parse.urlencode(form).encode(), headers)
        if status >= 400:
            raise CommandError(f"Logging in as {email} answered {status}.")


class Command(BaseCommand):
    help = (
        "Load a running server (gunicorn on PostgreSQL with a worker, for figures that mean "
        "something) with concurrent clients for a while: the demo tenant's people read their "
        "dashboards and, with --api-share, an integration posts activities. Prints throughput "
        "and p50/p95/p99 per kind of request, and errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--tenant", default="demo", help="A tenant made by seed_demo.")
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument("--seconds", type=float, default=60)
        parser.add_argument(
            "--api-share", type=float, default=0.0, help="Share of requests that post records."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}: run seed_demo first.")
        logins = demo_logins(tenant.slug)
        _, key = api_token_create(tenant=tenant, name=f"bench_load {datetime.now(UTC):%H:%M:%S}")
        rep_emails = [email for email, _, role in logins if role == "rep"]
        timings: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        lock = threading.Lock()
        stop = time.monotonic() + options["seconds"]

        def run(number: int) -> None:
            email, _, role = logins[number % len(logins)]
            client = Client(options["url"])
            client.log_in(email)
            rng = random.Random(number)
            sent = 0
            while time.monotonic() < stop:
                if rng.random() < options["api_share"]:
                    kind, sent = "POST /api/v1/activities", sent + 1
                    record = {"external_id": f"load-{number}-{sent}-{time.time_ns()}",
                              "owner_email": rng.choice(rep_emails), "type": "Cold call",
                              "status": "completed",
                              "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip
                    body = json.dumps({"records": [record]}).encode()
                    headers = {"Authorization": f"Bearer {key}",
                               "Content-Type": "application/json"}  # fmt: skip
                    began = time.monotonic()
                    status = client.request("/api/v1/activities", body, headers)
                else:
                    kind = "GET " + rng.choice(PAGES[role])
                    began = time.monotonic()
                    status = client.request(kind.split()[1])
                took = time.monotonic() - began
                with lock:
                    timings[kind].append(took)
                    if status >= 400:
                        errors[kind] += 1

        threads = [threading.Thread(target=run, args=(n,)) for n in range(options["clients"])]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - began
        total = sum(len(values) for values in timings.values())
        self.stdout.write(
            f"{options['clients']} clients for {elapsed:.0f} s against {options['url']}: "
            f"{total:,} requests, {total / elapsed:.0f} a second, "
            f"{sum(errors.values())} errors"
        )
        for kind, values in sorted(timings.items()):
            values.sort()
            self.stdout.write(
                f"  {kind:<28} {len(values):>6,}  p50 {_ms(statistics.median(values))}  "
                f"p95 {_ms(_pct(values, 0.95))}  p99 {_ms(_pct(values, 0.99))}  "
                f"errors {errors[kind]}"
            )


def _pct(values: list[float], share: float) -> float:
    return values[min(int(len(values) * share), len(values) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"
