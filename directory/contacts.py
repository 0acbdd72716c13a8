"""Contact values: the one e-mail rule, address normalisation, and phone and chat links.

Pure functions, no Flask. The schema (contacts and owners), accounts, the auto-reply's address
lookup and the pages all use these, so an address that is saved is an address that answers,
and a phone number dials the same from the page and from the auto-reply (issue 11).
"""

from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr

__all__ = [
    "ADDRESS_RE", "PHONE_RE", "chat_href", "email_problem", "is_email", "normalize_address", "tel_href",
]

ADDRESS_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?|localhost)$",
    re.IGNORECASE,
)
"""A plain address: dot-atom local part (no leading, trailing or doubled dot) and a dotted domain
without a trailing dot (or `localhost`, which single sign-on uses for bare user names)."""
MAX_ADDRESS_CHARS = 254  # RFC 5321's limit on a forward path, less its angle brackets

# A number as people write it, optionally followed by a note: "+44 20 7946 0123", "888-262-7848 (TTY)".
PHONE_RE = re.compile(r"^\+?\(?\d[\d ()./-]{1,30}\d\)?(?:\s*(?:,|;|\(|x|ext\.?|press)\s*[\w .()-]{0,40})?$", re.IGNORECASE)
_EXTENSION = re.compile(r"\s*(?:x|ext\.?)\s*(\d+)\s*$", re.IGNORECASE)
_PHONE_NOTE = re.compile(r"\s*(?:[,;]|\bpress\b|\((?!0\))\D).*$", re.IGNORECASE)

_MAILTO = re.compile(r"(^|<)\s*mailto:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FOLDING = re.compile(r"\r?\n[ \t]+")
_WEB_LINK = re.compile(r"^https?://", re.IGNORECASE)


def email_problem(value: object) -> str | None:
    """None when `value` is an e-mail address as the directory stores it, else why not.

    The one rule for contacts, owners and accounts; `normalize_address` accepts exactly these
    (plus display names, `mailto:` and `+tags`), so every stored address can be answered.
    """
    if not isinstance(value, str) or not value:
        return "is not an e-mail address"
    if len(value) > MAX_ADDRESS_CHARS or not ADDRESS_RE.fullmatch(value):
        return "is not an e-mail address (name@example.com, no spaces, no dot at either end of a part)"
    return None


def is_email(value: object) -> bool:
    return email_problem(value) is None


def normalize_address(raw: str) -> str | None:
    """The address a message was sent to, in the one form contacts are matched on.

    ``'"Payroll" <Payroll+urgent@Example.com>'`` -> ``'payroll@example.com'``: display name,
    angle brackets, whitespace, ``mailto:`` (and its ``?query``) and a ``+tag`` are dropped and
    the result is lowercased, so every way of writing a team's mailbox finds the team.
    None when ``raw`` is not a single plain address.
    """
    if not isinstance(raw, str) or len(raw) > 1_000:
        return None
    text = _MAILTO.sub(r"\1", _FOLDING.sub(" ", raw).strip())
    if _CONTROL.search(text) or "\n" in text or len([a for _, a in getaddresses([text]) if a]) != 1:
        return None  # header injection or a list of addresses, not one address
    _name, address = parseaddr(text)
    address = address.split("?", 1)[0].strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return None
    address = f"{local.split('+', 1)[0]}@{domain}"
    return address if is_email(address) else None


def tel_href(number: str) -> str:
    """An RFC 3966 link: '+44 20 7946 0100 ext. 12' -> 'tel:+442079460100;ext=12'.

    A note after the number (", press 2", "(TTY)") is not dialled; "(0)" inside an international
    number is dropped, as it is never dialled from abroad.
    """
    text = _PHONE_NOTE.sub("", number.strip())
    extension = _EXTENSION.search(text)
    main = text[: extension.start()] if extension else text
    if main.lstrip().startswith("+"):
        main = main.replace("(0)", "")
    digits = re.sub(r"[^0-9+]", "", main)
    return f"tel:{digits}" + (f";ext={extension.group(1)}" if extension else "")


def chat_href(value: str, chat_url: str = "") -> str | None:
    """Where a chat contact links: itself when it is a web link, else the channel in the
    `DIRECTORY_CHAT_URL` template ("#payroll-help" -> ".../channels/payroll-help"); None without one."""
    if _WEB_LINK.match(value):
        return value
    if chat_url:
        return chat_url.replace("{channel}", value.lstrip("#@"))
    return None
