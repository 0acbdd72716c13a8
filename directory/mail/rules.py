"""When the responder must stay silent: RFC 3834's rules for automatic responses, as CONTRACT §5
lists them. Pure functions over an incoming message's headers and envelope."""

from __future__ import annotations

import re
from collections.abc import Set
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr

from directory.contacts import ADDRESS_RE

__all__ = [
    "MAX_HEADER_BYTES",
    "SUPPRESSION_REASONS",
    "Incoming",
    "MalformedMessage",
    "message_suppression",
    "parse_headers",
    "recipient_address",
    "sender_suppression",
]

MAX_HEADER_BYTES = 64 * 1024
"""Headers beyond this are not read: a reply needs a handful of them, and no mail server sends more."""

SUPPRESSION_REASONS = {
    "malformed": "the message's headers could not be read",
    "null_sender": "the envelope sender was empty (a bounce or another automatic message)",
    "bad_sender": "the envelope sender is not an address a reply can be sent to",
    "auto_submitted": "the message says it was sent automatically (Auto-Submitted)",
    "precedence": "the message is bulk, list or junk mail (Precedence)",
    "mailing_list": "the message came through a mailing list (List-Id or List-Unsubscribe)",
    "system_sender": "the sender is a mailer daemon, postmaster or no-reply address",
    "own_address": "the sender is one of the team's own addresses",
    "recently_answered": "the sender was already answered for this team within the period",
    "unknown_address": "no team answers for the address the message was sent to",
}
"""Every reason a message or recipient goes unanswered, as counted and shown to administrators."""

# RFC 3834 §2 and common practice: addresses that belong to machines, whose mail no person reads.
_SYSTEM_LOCAL_PART = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply(?:[-_.+].*)?|do[-_.]?not[-_.]?reply(?:[-_.+].*)?"
    r"|bounces?(?:[-_.+].*)?|owner-.*|.*-owner|.*-request|listserv|majordomo)$",
    re.IGNORECASE,
)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COMMENT = re.compile(r"\([^()]*\)")  # RFC 5322 comments, as in "Auto-Submitted: no (a person)"


class MalformedMessage(ValueError):
    """The incoming message has no readable headers; it is accepted and skipped."""


class Incoming:
    """The headers of one incoming message that the rules and the reply need, read defensively."""

    def __init__(self, headers: Message) -> None:
        self.headers = headers

    def get(self, name: str) -> str:
        """The header's first value as text, unfolded, '' when absent; never raises."""
        value = self.headers.get(name)
        if value is None:
            return ""
        return _CONTROL.sub(" ", str(value)).strip()

    def has(self, name: str) -> bool:
        return name in self.headers

    @property
    def message_id(self) -> str | None:
        """The message's Message-ID as `<id@host>`, None when missing or not one."""
        match = _MESSAGE_ID.search(self.get("Message-ID"))
        return match.group(0) if match else None

    def display_name(self, address: str) -> str:
        """The From header's display name when it names `address`, else ''; RFC 2047 decoded."""
        try:
            name, found = parseaddr(str(make_header(decode_header(self.get("From")))))
        except Exception:  # an unreadable encoded word: no name rather than a wrong one
            return ""
        return name if found.lower() == address.lower() else ""

    @property
    def references(self) -> list[str]:
        """Its References (or, failing those, In-Reply-To), the last ten: enough to thread."""
        found = _MESSAGE_ID.findall(self.get("References")) or _MESSAGE_ID.findall(self.get("In-Reply-To"))
        return found[-10:]


def parse_headers(content: bytes) -> Incoming:
    """The header block of `content` (only up to the first blank line, at most MAX_HEADER_BYTES).

    Raises MalformedMessage when it does not start with a header: garbage, or a body without one.
    """
    head = content[:MAX_HEADER_BYTES]
    end = re.search(rb"\r?\n\r?\n", head)
    if end is not None:
        head = head[: end.end()]
    if not re.match(rb"[!-9;-~]+[ \t]*:", head):
        raise MalformedMessage("the message does not start with a header")
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    except Exception as exc:  # the parser is lenient; anything it still cannot read is malformed
        raise MalformedMessage(f"unreadable headers: {exc}") from exc
    if not headers.keys():
        raise MalformedMessage("no header could be read")
    return Incoming(headers)


def message_suppression(incoming: Incoming, envelope_sender: str) -> str | None:
    """Why no reply goes out for this message at all, whichever team it was for; None to answer.

    RFC 3834 §2: never answer automatic mail (Auto-Submitted other than "no"), bulk, list or junk
    mail, mail from a mailing list, bounces (empty envelope sender) or machines' addresses.
    """
    sender = envelope_sender.strip().strip("<>").strip()
    if not sender:
        return "null_sender"
    auto = _COMMENT.sub(" ", incoming.get("Auto-Submitted")).split(";", 1)[0].strip().lower()
    if incoming.has("Auto-Submitted") and auto != "no":
        return "auto_submitted"
    if incoming.get("Precedence").lower() in {"bulk", "list", "junk"}:
        return "precedence"
    if incoming.has("List-Id") or incoming.has("List-Unsubscribe"):
        return "mailing_list"
    local = sender.rpartition("@")[0] or sender
    if _SYSTEM_LOCAL_PART.match(local):
        return "system_sender"
    if len(sender) > 254 or not ADDRESS_RE.fullmatch(sender):
        return "bad_sender"
    return None


def sender_suppression(envelope_sender: str, team_addresses: Set[str], responder_addresses: Set[str]) -> str | None:
    """Why this team does not answer this sender: its own address (or the responder's), else None."""
    sender = envelope_sender.strip().strip("<>").strip().lower()
    local, _, domain = sender.rpartition("@")
    plain = f"{local.split('+', 1)[0]}@{domain}"
    if sender in team_addresses or plain in team_addresses:
        return "own_address"
    if sender in responder_addresses or plain in responder_addresses:
        return "own_address"
    return None


def recipient_address(rcpt: str) -> str:
    """The team address an envelope recipient stands for.

    A mail server that copies mail to the responder under an address of its own encodes the team
    address in the local part, as vacation responders do: `payroll#example.com@autoreply.example`
    (or `payroll=example.com@…`) stands for `payroll@example.com`. Anything else is itself.
    """
    rcpt = rcpt.strip().strip("<>")
    local, at, _host = rcpt.rpartition("@")
    if at:
        for mark in ("#", "="):
            name, sep, domain = local.rpartition(mark)
            if sep and name and "." in domain:
                return f"{name}@{domain}"
    return rcpt
