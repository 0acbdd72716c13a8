"""The reply as an Internet message: well-formed for any mail client, whatever the names hold."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from directory.autoreply import AutoReply

__all__ = ["ReplyEnvelope", "compose_reply"]

_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class ReplyEnvelope:
    """Who a reply is from and to, and which message it answers."""

    team_name: str
    team_address: str
    to: str
    in_reply_to: str | None
    references: tuple[str, ...] = ()
    mail_from: str | None = None
    """A no-reply address to send from (the team's address then goes in Reply-To); None: the team's."""
    to_name: str = ""
    """The sender's display name, when their From header names the envelope sender."""


def _address(display_name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=_LINE_BREAKS.sub(" ", display_name).strip(), username=local, domain=domain)


def compose_reply(reply: AutoReply, envelope: ReplyEnvelope, now: datetime) -> EmailMessage:
    """The auto-reply as multipart/alternative (the same words as text and HTML), marked
    `Auto-Submitted: auto-replied` (RFC 3834) and threaded under the message it answers.

    Non-ASCII names and subjects become RFC 2047 encoded words and the bodies UTF-8 with a
    transfer encoding, by the standard library's SMTP policy; line breaks in a subject cannot
    add headers.
    """
    message = EmailMessage(policy=SMTP)
    sender = envelope.mail_from or envelope.team_address
    message["From"] = _address(envelope.team_name, sender)
    if envelope.mail_from and envelope.mail_from.lower() != envelope.team_address.lower():
        message["Reply-To"] = _address(envelope.team_name, envelope.team_address)
    message["To"] = _address(envelope.to_name, envelope.to)
    message["Subject"] = _LINE_BREAKS.sub(" ", reply.subject).strip() or f"About your message to {envelope.team_name}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("autoreply", domain=sender.rpartition("@")[2] or None)
    if envelope.in_reply_to:
        message["In-Reply-To"] = envelope.in_reply_to
        message["References"] = " ".join([*envelope.references, envelope.in_reply_to][-10:])
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to this
    message.set_content(reply.text)
    message.add_alternative(reply.html, subtype="html")
    return message
