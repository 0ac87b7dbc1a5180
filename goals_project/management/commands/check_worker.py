from __future__ import annotations

from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from django.core.management.base import BaseCommand, CommandError, CommandParser
from kombu.exceptions import OperationalError

from goals_project.tasks import ping


class Command(BaseCommand):
    help = "Send a ping task through the broker and wait for a worker to answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds to wait.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            answer = ping.delay().get(timeout=options["timeout"])
        except CeleryTimeout:
            raise CommandError(f"No worker answered within {options['timeout']:g} s.") from None
        except OperationalError as exc:
            raise CommandError(f"The broker cannot be reached: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Worker answered: {answer}"))
