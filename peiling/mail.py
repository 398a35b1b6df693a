"""Sending mail: from the outbox (panel.models.Mail) over SMTP, settings from PEILING_MAIL_*.

Every mail is first written to the outbox, then sent; a send that fails stays queued with
its error and is tried again (`flask --app peiling mail send`, or the next send), up to
MAIL_ATTEMPTS times, after which it is marked failed and shown to staff; at most MAIL_RATE
mails a second. Plain text and
HTML, with List-Unsubscribe headers (one click, RFC 8058) where the mail has an
unsubscribe link.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from peiling.panel.models import Mail, MailStatus

log = logging.getLogger(__name__)

DEFAULTS = {
    "MAIL_SERVER": "127.0.0.1",
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,  # STARTTLS
    "MAIL_USE_SSL": False,  # SMTPS
    "MAIL_SENDER": "Peiling <noreply@localhost>",
    "MAIL_TIMEOUT": 10,
    "MAIL_ATTEMPTS": 5,
    "MAIL_RATE": 20,  # mails per second at most: mail providers throttle bursts
    "MAIL_RETRY_SECONDS": 30,  # the first wait before a failed send is tried again
}


def setting(name: str) -> object:
    return current_app.config.get(name, DEFAULTS[name])


def _flag(name: str) -> bool:
    value = setting(name)
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")


def message(mail: Mail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = str(setting("MAIL_SENDER"))
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain="peiling")
    if mail.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(mail.text_body or "")
    if mail.html_body:
        msg.add_alternative(mail.html_body, subtype="html")
    return msg


def connect() -> smtplib.SMTP:
    host, port = str(setting("MAIL_SERVER")), int(setting("MAIL_PORT"))  # type: ignore[call-overload]
    timeout = float(setting("MAIL_TIMEOUT"))  # type: ignore[arg-type]
    server: smtplib.SMTP
    if _flag("MAIL_USE_SSL"):
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
        if _flag("MAIL_USE_TLS"):
            server.starttls(context=ssl.create_default_context())
    if setting("MAIL_USERNAME"):
        server.login(str(setting("MAIL_USERNAME")), str(setting("MAIL_PASSWORD") or ""))
    return server


def send_queued(session: Session, ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Send queued mail (only `ids` if given) over one connection; returns (sent, failed).

    Each mail is marked sent, with its bodies dropped, in its own commit right after the
    server accepted it, so a connection that breaks halfway leaves the rest queued for the
    next attempt and never sends one twice."""
    stmt = select(Mail).where(Mail.status == MailStatus.QUEUED).order_by(Mail.id)
    if ids is not None:
        stmt = stmt.where(Mail.id.in_(list(ids)))
    queued = session.scalars(stmt).all()
    pause = 1 / float(setting("MAIL_RATE"))  # type: ignore[arg-type]
    sent = failed = 0
    server: smtplib.SMTP | None = None
    try:
        for n, mail in enumerate(queued):
            if n:
                time.sleep(pause)  # between mails, not after the last
            try:
                if server is None:
                    server = connect()
                server.send_message(message(mail))
            except (OSError, smtplib.SMTPException) as exc:
                server = _drop(server)
                mail.attempts += 1
                mail.last_error = f"{type(exc).__name__}: {exc}"[:200]
                if mail.attempts >= int(setting("MAIL_ATTEMPTS")):  # type: ignore[call-overload]
                    mail.status = MailStatus.FAILED
                failed += 1
                log.warning("mail %s not sent (attempt %s): %s", mail.id, mail.attempts,
                            type(exc).__name__)  # fmt: skip
            else:
                mail.status = MailStatus.SENT
                mail.sent_at = datetime.now(UTC)
                mail.attempts += 1
                mail.text_body = mail.html_body = None  # no copies of personal links kept
                sent += 1
                log.info("mail %s sent (attempt %s)", mail.id, mail.attempts)
            session.commit()
    finally:
        _drop(server)
    return sent, failed


def _drop(server: smtplib.SMTP | None) -> None:
    if server is not None:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()
