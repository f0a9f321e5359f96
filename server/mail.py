"""Mailers: SMTP when SMTP_URL is set, else the log (under `make run` the link a mail
carries is on the console, so a reader can reset a password without a mail server)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from domain.ports import Mail, Mailer
from server.settings import Settings, SettingsError

log = logging.getLogger("bookmind.mail")


class LogMailer:
    async def send(self, mail: Mail) -> None:
        log.warning("mail to %s (no SMTP_URL set: logged, not sent)\nSubject: %s\n\n%s",
                    mail.to, mail.subject, mail.text)  # fmt: skip


class SmtpMailer:
    """`smtp://user:pass@host:587` (STARTTLS when the server offers it) or
    `smtps://user:pass@host:465` (TLS from the first byte)."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise SettingsError(f"SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…, "
                                f"not {url!r}")  # fmt: skip
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip("> "))
        message.set_content(mail.text)
        await aiosmtplib.send(
            message, hostname=self.host, port=self.port, username=self.username,
            password=self.password, use_tls=self.tls, timeout=30,
        )  # fmt: skip


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.mail_from)
    return LogMailer()
