"""Email as an outbox channel: confirmations, reminders, moves and cancellations, as
plain text and HTML, with their .ics, sent through SMTP."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib

from bot.channels.base import Unreachable
from config.settings import EmailSettings
from handlers.messages import Reply

log = logging.getLogger("videotramit.email")
CHANNEL = "email"


class EmailChannel:
    name = CHANNEL

    def __init__(self, settings: EmailSettings, sender_name: str) -> None:
        self._settings = settings
        self._sender_name = sender_name

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def message(self, address: str, reply: Reply) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self._sender_name, self._settings.sender))
        message["To"] = address
        message["Subject"] = reply.extra.get("subject", self._sender_name)
        message["Message-ID"] = make_msgid(domain=self._settings.sender.rpartition("@")[2])
        message.set_content(reply.text)
        html = reply.extra.get("html")
        if html:  # the same words, for mail programs that show HTML
            message.add_alternative(html, subtype="html")
        if reply.file is not None:
            main, _, sub = reply.file.content_type.partition("/")
            message.add_attachment(
                reply.file.data, maintype=main, subtype=sub, filename=reply.file.name
            )
        return message

    async def deliver(self, address: str, reply: Reply) -> None:
        settings = self._settings
        try:
            await aiosmtplib.send(
                self.message(address, reply),
                hostname=settings.host,
                port=settings.port,
                start_tls=settings.starttls,
                username=settings.username or None,
                password=settings.password.get_secret_value() or None,
                timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            # A permanent refusal of the address (5xx): retrying would not help.
            codes = [error.code for error in refused.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise Unreachable("address refused by the mail server") from refused
            raise
