"""Set-password links by mail: through a real SMTP server when one is configured, on screen
(and said so) when none is."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.core import mail
from django.urls import reverse

from hierarchy.services import mail_configured
from tests.conftest import client_for

HTMX = {"HTTP_HX_REQUEST": "true"}
NEW = {"name": "Nina New", "email": "nina@example.com", "role": "rep", "title": "SDR"}


class Inbox:
    """An aiosmtpd handler keeping every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope, parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, and the settings that send through it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.DEFAULT_FROM_EMAIL = "goals@acme.example"
    try:
        yield inbox
    finally:
        controller.stop()


def test_it_emails_the_set_password_link_through_smtp_and_keeps_it_off_the_page(
    personas, smtp_inbox
):
    assert mail_configured()
    url = reverse("member_add", args=[personas.manager.pk])
    response = client_for(personas.admin).post(url, NEW, **HTMX)
    body = response.content.decode()
    assert "and emailed them a link to set their password." in body
    assert "/password/set/" not in body

    [(envelope, message)] = smtp_inbox.messages
    assert envelope.mail_from == "goals@acme.example"
    assert envelope.rcpt_tos == ["nina@example.com"]
    assert message["Subject"] == f"You have been added to {personas.admin.tenant.name} on Goals"
    text = message.get_content()
    assert "Hello Nina New" in text and "http://testserver/password/set/" in text
    link = next(word for word in text.split() if "/password/set/" in word)
    assert client_for(personas.rep).get(link).status_code in (200, 302)


def test_it_shows_the_link_on_screen_and_says_why_when_no_mail_is_configured(personas):
    assert not mail_configured()  # the tests' in-memory backend reaches nobody
    url = reverse("member_add", args=[personas.manager.pk])
    body = client_for(personas.admin).post(url, NEW, **HTMX).content.decode()
    assert "No mail server is configured, so no email went out" in body
    [message] = mail.outbox
    link = next(word for word in message.body.split() if "/password/set/" in word)
    assert link in body


def test_it_answers_404_to_another_tenant_adding_a_member(personas, smtp_inbox):
    url = reverse("member_add", args=[personas.manager.pk])
    assert client_for(personas.outsider).post(url, NEW, **HTMX).status_code == 404
    assert smtp_inbox.messages == []
