"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and a panel."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

from peiling.extensions import db
from peiling.panel import services, waves
from peiling.panel.models import Member, MemberStatus, Panel
from peiling.surveys.models import Survey

# aiosmtpd logs every connection at INFO; the app's log level (INFO) would print them all.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Inbox:
    """What the SMTP server accepted; `refuse` makes it drop the connection instead."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = 0  # refuse this many more messages by closing the connection
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                session.transport.close()  # the connection breaks, nothing is accepted
                return "421 closing"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()  # type: ignore[no-any-return]

    @staticmethod
    def links(message: EmailMessage) -> list[str]:
        return re.findall(r"http://[^\s]+", Inbox.text(message))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    """An SMTP server on 127.0.0.1 for this test; the app sends its mail there."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_SENDER")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_SENDER="Groninger Panel <panel@provincie.nl>")  # fmt: skip
    try:
        yield handler
    finally:
        controller.stop()
        app.config.update(saved)


@pytest.fixture
def panel(app: Flask) -> Panel:
    with app.app_context():
        education = {"code": "opleiding", "label": "Opleiding",
                     "options": [["mbo", "Mbo"], ["hbo", "Hbo of wo"]]}  # fmt: skip
        made = Panel(slug="groninger-panel", name="Groninger Panel", region_code="groningen",
                     profile_fields=[education])  # fmt: skip
        db.session.add(made)
        db.session.commit()
        db.session.refresh(made)
        db.session.expunge(made)
        return made


@pytest.fixture
def codes(app: Flask, panel: Panel) -> list[str]:
    """Three printed codes for Groningen (GM0014) and two for Veendam (GM0047)."""
    with app.app_context():
        made = db.session.get(Panel, panel.id)
        batch, _n = services.new_codes(db.session, made, {"GM0014": 3, "GM0047": 2})
        db.session.commit()
        return [code for _p, _name, code in services.codes_of_batch(db.session, made, batch)]


def add_members(app: Flask, panel: Panel, count: int) -> None:
    """`count` active members in Groningen, lid0@example.nl and on."""
    with app.app_context():
        for k in range(count):
            db.session.add(Member(panel_id=panel.id, email=f"lid{k}@example.nl",
                                  municipality_code="GM0014", birth_year=1980,
                                  status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.commit()


def member_and_wave(  # type: ignore[no-untyped-def]
    app: Flask,
    panel: Panel,
    survey,
    email: str = "t@example.nl",
    birth_year: int = 1980,
    name: str = "Golf",
) -> int:
    """A wave of `survey` with one active member of `panel` (in Groningen); its id."""
    with app.app_context():
        db.session.add(Member(panel_id=panel.id, email=email, municipality_code="GM0014",
                              birth_year=birth_year, status=MemberStatus.ACTIVE))  # fmt: skip
        db.session.flush()
        wave = waves.create_wave(db.session, db.session.get(Panel, panel.id),
                                 db.session.get(Survey, survey.id), name, {}, 1)  # fmt: skip
        db.session.commit()
        return wave.id
