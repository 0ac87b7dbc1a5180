from __future__ import annotations

import asyncio
import json
import random
import re
import statistics
import time
import urllib.parse
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.demo import DEMO_PASSWORD, demo_logins
from hierarchy.models import Tenant
from hierarchy.services import api_token_create

PAGES = {"rep": ["/me/"], "manager": ["/team/", "/me/"], "admin": ["/team/", "/overview/"]}
TIMEOUT = 30  # seconds for one request, connecting included


class Client:
    """One simulated person: a logged-in session's cookies on an HTTP/1.1 connection to a
    running server, opened again whenever the server closes it (gunicorn's sync workers close
    every one, as the previous client did for each request).

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

    async def log_in(self, email: str) -> None:
        status, page = await self.request("/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise CommandError(f"No login form at /login/ (status {status}).")
        form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": email,
                "password": DEMO_PASSWORD}  # fmt: skip
        headers = {"Referer": f"http://{self.netloc}/login/",
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        status, _ = await self.request("/login/", urllib.parse.urlencode(form).encode(), headers)
        if status != 302 or "sessionid" not in self.cookies:
            raise CommandError(f"Logging in as {email} answered {status} without a session.")


class Command(BaseCommand):
    help = (
        "Load a running server (gunicorn on PostgreSQL with a worker, for figures that mean "
        "something) with concurrent clients for a while: the demo tenant's people read their "
        "dashboards and, with --api-share, an integration posts activities. Each client sends "
        "its next request as soon as the previous one is answered (no think time). Prints "
        "throughput and p50/p95/p99 per kind of request, errors (any answer but 2xx, or no "
        "answer), and the CPU the load generator itself used."
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
        _, key = api_token_create(tenant=tenant, name=f"bench_load {datetime.now(UTC):%H:%M:%S}")
        # In a thread of its own: whoever calls the command may be running an event loop
        # already (a Playwright session in the test suite does).
        with ThreadPoolExecutor(max_workers=1) as thread:
            thread.submit(asyncio.run, self._load(demo_logins(tenant.slug), key, options)).result()

    async def _load(self, logins: list[tuple[str, str, str]], key: str, options: Any) -> None:
        rep_emails = [email for email, _, role in logins if role == "rep"]
        timings: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        people = [logins[number % len(logins)] for number in range(options["clients"])]
        clients = [Client(options["url"]) for _ in people]
        # Everyone logs in first; the clock starts when they all have.
        await asyncio.gather(
            *(c.log_in(email) for c, (email, _, _) in zip(clients, people, strict=True))
        )

        async def run(number: int, stop: float) -> None:
            client, (_, _, role) = clients[number], people[number]
            rng = random.Random(number)
            sent = 0
            while time.monotonic() < stop:
                if rng.random() < options["api_share"]:
                    kind, sent = "POST /api/v1/activities", sent + 1
                    record = {"external_id": f"load-{number}-{sent}-{time.time_ns()}",
                              "owner_email": rng.choice(rep_emails), "type": "Cold call",
                              "status": "completed",
                              "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip
                    data: bytes | None = json.dumps({"records": [record]}).encode()
                    headers = {"Authorization": f"Bearer {key}",
                               "Content-Type": "application/json"}  # fmt: skip
                else:
                    kind, data, headers = "GET " + rng.choice(PAGES[role]), None, {}
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
        self._report(timings, errors, elapsed, cpu, options)

    def _report(
        self,
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
