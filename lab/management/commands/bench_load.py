from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import urllib.parse
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from hierarchy.models import Member, Tenant
from hierarchy.services import api_token_create

PAGES = {"rep": ["/me/"], "manager": ["/team/", "/me/"], "admin": ["/team/", "/overview/"]}
TIMEOUT = 30  # seconds for one request, connecting included


class Client:
    """One simulated browser: the session cookie of the person it acts for (set before each
    request) and whatever cookies the server sets, on an HTTP/1.1 connection to a running
    server, opened again whenever the server closes it (gunicorn's sync workers close every
    one, as the previous client did for each request).

    Plain asyncio streams, so that all the clients together cost the machine a small fraction
    of what the server spends on them: the load generator shares the server's cores, and every
    millisecond it burns is one the server does not get. Cookies are kept by name and sent back
    as they are (there is no TLS here to hold a Secure cookie back)."""

    def __init__(self, base: str) -> None:
        url = urllib.parse.urlsplit(base)
        if url.scheme != "http" or not url.hostname:
            raise CommandError(f"--url must be http://host[:port], not {base!r}.")
        self.host, self.port = url.hostname, url.port or 80
        self.netloc = url.netloc
        self.cookies: dict[str, str] = {}
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body); a connection that the server had closed is opened again once."""
        head = [f"{'POST' if data is not None else 'GET'} {path} HTTP/1.1", f"Host: {self.netloc}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if data is not None:
            head.append(f"Content-Length: {len(data)}")
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (data or b"")
        reused = self.streams is not None
        try:
            async with asyncio.timeout(TIMEOUT):
                return await self._exchange(message)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if not reused:
                raise
        async with asyncio.timeout(TIMEOUT):
            return await self._exchange(message)

    async def _exchange(self, message: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(message)
        await writer.drain()
        try:
            status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")[:-2]
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise ConnectionResetError("the server closed the connection") from None
            raise
        status = int(status_line.split()[1])
        length, chunked, close = None, False, status_line.startswith(b"HTTP/1.0")
        for line in lines:
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                close = value.lower() == "close"
            elif name == "set-cookie":
                self._keep_cookie(value)
        if chunked:
            body = b""
            while size := int((await reader.readline()).split(b";")[0], 16):
                body += await reader.readexactly(size)
                await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body, close = await reader.read(), True
        if close:
            self.close()
        return status, body

    def _keep_cookie(self, header: str) -> None:
        pair, *attributes = header.split(";")
        name, _, value = pair.strip().partition("=")
        if any(a.strip().lower() == "max-age=0" for a in attributes):
            self.cookies.pop(name, None)  # how Django deletes a cookie
        else:
            self.cookies[name] = value

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


# Who the clients are, in proportions close to a sales company's (the benchmark tenant has
# 1,766 reps, 233 managers and one admin): mostly reps, a manager for every few of them, and an
# admin or two. What each reads: a rep their own targets, a manager their team and their own
# targets, an admin their team and the company overview.
SHARES = {Member.Role.REP: 0.75, Member.Role.MANAGER: 0.20, Member.Role.ADMIN: 0.05}


@dataclass(frozen=True)
class Person:
    email: str
    role: str
    session: str  # the key of the server-side session made for them


def role_counts(wanted: int, available: dict[str, int]) -> dict[str, int]:
    """How many people of each role make ``wanted`` in the proportions of SHARES, with at least
    one of each role when there are as many people as roles, and no more of a role than
    ``available`` has (a role short of members leaves its places to the others)."""
    roles = [role for role in SHARES if available.get(role)]
    if wanted > sum(available[role] for role in roles):
        raise CommandError(f"--people {wanted}: the tenant has only {sum(available.values())} "
                           "active members.")  # fmt: skip
    share = {role: wanted * SHARES[role] / sum(SHARES[r] for r in roles) for role in roles}
    counts = {role: int(wanted >= len(roles)) for role in roles}
    for _ in range(wanted - sum(counts.values())):
        # Each place to the role furthest below its share that has members left.
        role = max((r for r in roles if counts[r] < available[r]),
                   key=lambda r: share[r] - counts[r])  # fmt: skip
        counts[role] += 1
    return counts


def people_choose(tenant: Tenant, wanted: int) -> list[tuple[Member, str]]:
    """``wanted`` distinct active members of the tenant in the proportions of ``role_counts``,
    each role's spread evenly over the reporting tree (so over many teams), the same ones on
    every run; with their role."""
    with scope(tenant=tenant):
        members = list(
            Member.objects.filter(is_active=True, user__is_active=True)
            .select_related("user")
            .order_by("tree_id", "lft")
        )
    by_role: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        by_role[member.role].append(member)
    counts = role_counts(wanted, {role: len(found) for role, found in by_role.items()})
    chosen = []
    for role, count in counts.items():
        found = by_role[role]
        chosen += [(found[n * len(found) // count], role) for n in range(count)]
    return chosen


def session_create(user: AbstractBaseUser) -> str:
    """A server-side session logged in as ``user``, as ``django.test.Client.force_login``
    makes one (the first backend that can load a user, and the password's session hash, so
    that the server accepts it without anyone knowing the password); its key. Not through
    force_login itself: its login signal would stamp every chosen person's last login and
    write an access-log row for each into the tenant under load."""
    backend = next(
        path
        for path in settings.AUTHENTICATION_BACKENDS
        if hasattr(auth.load_backend(path), "get_user")
    )
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[auth.SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[auth.BACKEND_SESSION_KEY] = backend
    session[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def sessions_delete(keys: list[str]) -> None:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store().delete(key)


class Command(BaseCommand):
    help = (
        "Load a running server (gunicorn on PostgreSQL with a worker, for figures that mean "
        "something) with concurrent clients for a while: distinct people of the tenant read "
        "their dashboards and, with --api-share, an integration posts activities. The people "
        "(--people, one per client by default) are the tenant's active members, about 75% "
        "reps reading /me/, 20% managers reading /team/ and /me/ and 5% admins reading "
        "/team/ and /overview/ (at least one of each role when there are enough people), "
        "spread over the tree and the same on every run. Each is logged in through a "
        "server-side session made for them in the database the server reads (no password "
        "needed), deleted at the end. With more people than clients each client takes turns "
        "among its share of them, request by request; with fewer, clients share people. Each "
        "client sends its next request as soon as the previous one is answered (no think "
        "time). Prints throughput and p50/p95/p99 per kind of request, errors (any answer but "
        "2xx, or no answer), and the CPU the load generator itself used."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument(
            "--tenant", default="demo", help="A tenant made by seed_demo (or bench_recompute's)."
        )
        parser.add_argument("--clients", type=int, default=20)
        parser.add_argument(
            "--people", type=int, help="Distinct members to log in as (default: --clients)."
        )
        parser.add_argument("--seconds", type=float, default=60)
        parser.add_argument(
            "--api-share", type=float, default=0.0, help="Share of requests that post records."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}: run seed_demo first.")
        if options["clients"] < 1 or (options["people"] or 1) < 1:
            raise CommandError("--clients and --people must be at least 1.")
        chosen = people_choose(tenant, options["people"] or options["clients"])
        _, key = api_token_create(tenant=tenant, name=f"bench_load {datetime.now(UTC):%H:%M:%S}")
        people: list[Person] = []
        try:
            for member, role in chosen:
                people.append(Person(member.user.email, role, session_create(member.user)))
            # In a thread of its own: whoever calls the command may be running an event loop
            # already (a Playwright session in the test suite does).
            with ThreadPoolExecutor(max_workers=1) as thread:
                thread.submit(asyncio.run, self._load(people, key, options)).result()
        finally:
            sessions_delete([person.session for person in people])

    async def _load(self, people: list[Person], key: str, options: Any) -> None:
        rep_emails = [p.email for p in people if p.role == Member.Role.REP] or [
            p.email for p in people
        ]
        timings: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        count = options["clients"]
        # Client n takes people n, n + count, n + 2 count...; with fewer people than clients,
        # person n % len(people).
        turns = [people[n::count] or [people[n % len(people)]] for n in range(count)]
        clients = [Client(options["url"]) for _ in turns]

        async def run(number: int, stop: float) -> None:
            client, mine = clients[number], turns[number]
            rng = random.Random(number)
            sent = 0
            # Every person's pages (and the API, with an API share) once before the clock may
            # stop the client: a slow server still yields a figure for each, from each session.
            firsts = [(person, "GET " + page) for person in mine for page in PAGES[person.role]]
            firsts += [(mine[0], "POST")] if options["api_share"] > 0 else []
            while time.monotonic() < stop or sent < len(firsts):
                person, first = firsts[sent] if sent < len(firsts) else (mine[sent % len(mine)], "")
                client.cookies[settings.SESSION_COOKIE_NAME] = person.session
                sent += 1
                if first == "POST" or (not first and rng.random() < options["api_share"]):
                    kind = "POST /api/v1/activities"
                    record = {"external_id": f"load-{number}-{sent}-{time.time_ns()}",
                              "owner_email": rng.choice(rep_emails), "type": "Cold call",
                              "status": "completed",
                              "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip
                    data: bytes | None = json.dumps({"records": [record]}).encode()
                    headers = {"Authorization": f"Bearer {key}",
                               "Content-Type": "application/json"}  # fmt: skip
                else:
                    page = first[4:] if first else rng.choice(PAGES[person.role])
                    kind, data, headers = "GET " + page, None, {}
                began = time.monotonic()
                try:
                    status, _ = await client.request(kind.split()[1], data, headers)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                    client.close()  # in an unknown state now
                    status = 0  # no answer, or not HTTP
                timings[kind].append(time.monotonic() - began)
                if not 200 <= status < 300:
                    errors[kind] += 1
            client.close()

        cpu = time.process_time()
        began = time.monotonic()
        stop = began + options["seconds"]
        await asyncio.gather(*(run(number, stop) for number in range(len(clients))))
        elapsed = time.monotonic() - began
        cpu = time.process_time() - cpu
        self._report(people, timings, errors, elapsed, cpu, options)

    def _report(
        self,
        people: list[Person],
        timings: dict[str, list[float]],
        errors: dict[str, int],
        elapsed: float,
        cpu: float,
        options: Any,
    ) -> None:
        total = sum(len(values) for values in timings.values())
        self.stdout.write(
            f"{options['clients']} clients for {elapsed:.0f} s against {options['url']}: "
            f"{total:,} requests, {total / elapsed:.0f} a second, "
            f"{sum(errors.values())} errors"
        )
        roles = Counter(person.role for person in people)
        self.stdout.write(
            f"  {len(people)} distinct people, a session each: "
            + ", ".join(
                f"{roles[role]} {role}{'s' if roles[role] != 1 else ''} ({' '.join(PAGES[role])})"
                for role in SHARES
                if roles[role]
            )
        )
        for kind, values in sorted(timings.items()):
            values.sort()
            self.stdout.write(
                f"  {kind:<28} {len(values):>6,}  p50 {_ms(statistics.median(values))}  "
                f"p95 {_ms(_pct(values, 0.95))}  p99 {_ms(_pct(values, 0.99))}  "
                f"errors {errors[kind]}"
            )
        self.stdout.write(
            f"  load generator: {cpu:.1f} s of CPU, {cpu * 1000 / max(total, 1):.2f} ms a request"
        )


def _pct(values: list[float], share: float) -> float:
    return values[min(int(len(values) * share), len(values) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"
