"""The reply as an Internet message: well-formed for any mail client, whatever the names hold.

A reply is the team's part (From, Subject, the multipart/alternative body: the same for every
message a team answers within a minute) and the message's part (To, Date, Message-ID, threading).
The first is built once by the standard library's email package and reused as bytes; the second
is a few header lines per reply, from values that are checked or encoded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from directory.autoreply import AutoReply

__all__ = ["ReplyEnvelope", "compose_reply", "reply_body", "reply_headers"]

_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f]+")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII, no spaces or angle brackets inside
MAX_NAME_CHARS = 100


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


def _name(display_name: str) -> str:
    return _LINE_BREAKS.sub(" ", display_name).strip()[:MAX_NAME_CHARS]


def _address(display_name: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=_name(display_name), username=local, domain=domain)


def reply_body(reply: AutoReply, team_name: str, team_address: str, mail_from: str | None) -> bytes:
    """The team's part of a reply: From (and Reply-To), Subject, the RFC 3834 marks and the
    multipart/alternative body (text and HTML, the same words), ending with the body.

    Non-ASCII names and subjects become RFC 2047 encoded words and the bodies UTF-8 with a
    transfer encoding (the standard library's SMTP policy), so the result is 7-bit; line breaks
    in a subject cannot add headers.
    """
    message = EmailMessage(policy=SMTP)
    sender = mail_from or team_address
    message["From"] = _address(team_name, sender)
    if mail_from and mail_from.lower() != team_address.lower():
        message["Reply-To"] = _address(team_name, team_address)
    message["Subject"] = _LINE_BREAKS.sub(" ", reply.subject).strip() or f"About your message to {_name(team_name)}"
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to this
    # 7-bit throughout: quoted-printable or base64 for non-ASCII text, so relays without 8BITMIME
    # pass the reply unchanged.
    message.set_content(reply.text, cte="quoted-printable" if not reply.text.isascii() else None)
    message.add_alternative(reply.html, subtype="html", cte="quoted-printable" if not reply.html.isascii() else None)
    return message.as_bytes()


def reply_headers(envelope: ReplyEnvelope, now: datetime) -> tuple[str, bytes]:
    """(Message-ID, the header lines) of one reply: To, Date, Message-ID, In-Reply-To and
    References (the message's References, then the message itself, one per folded line)."""
    sender = envelope.mail_from or envelope.team_address
    message_id = make_msgid("autoreply", domain=sender.rpartition("@")[2] or None)
    lines = [f"To: {formataddr((_name(envelope.to_name), envelope.to), charset='utf-8')}",
             f"Date: {format_datetime(now)}", f"Message-ID: {message_id}"]
    if envelope.in_reply_to and _MESSAGE_ID.fullmatch(envelope.in_reply_to):
        thread = [*[ref for ref in envelope.references if _MESSAGE_ID.fullmatch(ref)][-9:], envelope.in_reply_to]
        lines.append(f"In-Reply-To: {envelope.in_reply_to}")
        lines.append("References: " + "\r\n ".join(thread))
    return message_id, ("\r\n".join(lines) + "\r\n").encode("ascii")


def compose_reply(reply: AutoReply, envelope: ReplyEnvelope, now: datetime) -> bytes:
    """The whole reply, ready for SMTP: multipart/alternative, `Auto-Submitted: auto-replied`
    (RFC 3834), threaded under the message it answers."""
    return reply_headers(envelope, now)[1] + reply_body(reply, envelope.team_name, envelope.team_address,
                                                         envelope.mail_from)
