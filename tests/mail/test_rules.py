"""RFC 3834's rules: which messages get a reply and to whom, without SMTP."""

from __future__ import annotations

import pytest

from directory.mail.rules import (
    MAX_HEADER_BYTES,
    MalformedMessage,
    message_suppression,
    parse_headers,
    recipient_address,
    sender_suppression,
)


def incoming(*headers: str) -> bytes:
    return ("\r\n".join(["From: a@example.com", "Subject: hi", *headers]) + "\r\n\r\nbody\r\n").encode()


@pytest.mark.parametrize(("headers", "sender", "reason"), [
    ((), "a@example.com", None),
    (("Auto-Submitted: no",), "a@example.com", None),
    (("Auto-Submitted: No (a person)",), "a@example.com", None),
    (("Auto-Submitted: auto-generated",), "a@example.com", "auto_submitted"),
    (("Auto-Submitted: auto-notified",), "a@example.com", "auto_submitted"),
    (("Auto-Submitted: ",), "a@example.com", "auto_submitted"),
    (("Precedence: BULK",), "a@example.com", "precedence"),
    (("Precedence: first-class",), "a@example.com", None),
    (("List-Id: <x.example.com>",), "a@example.com", "mailing_list"),
    (("List-Unsubscribe: <https://x.example/u>",), "a@example.com", "mailing_list"),
    ((), "", "null_sender"),
    ((), "<>", "null_sender"),
    ((), "Mailer-Daemon@mx.example.com", "system_sender"),
    ((), "postmaster@example.com", "system_sender"),
    ((), "no_reply@example.com", "system_sender"),
    ((), "noreply+abc@example.com", "system_sender"),
    ((), "do-not-reply@example.com", "system_sender"),
    ((), "staff-news-request@lists.example.com", "system_sender"),
    ((), "owner-staff@lists.example.com", "system_sender"),
    ((), "replyer@example.com", None),  # "reply" alone is a person's choice of name
    ((), "not an address", "bad_sender"),
])
def test_message_suppression(headers: tuple[str, ...], sender: str, reason: str | None) -> None:
    assert message_suppression(parse_headers(incoming(*headers)), sender) == reason


def test_the_teams_own_addresses_and_the_responders_are_never_answered() -> None:
    own = {"payroll@example.com"}
    assert sender_suppression("Payroll+x@Example.com", own, set()) == "own_address"
    assert sender_suppression("noreply-dir@example.com", own, {"noreply-dir@example.com"}) == "own_address"
    assert sender_suppression("alice@example.com", own, set()) is None


@pytest.mark.parametrize("content", [
    b"",
    b"\x00\x01\xff garbage\r\n",
    b"just a body line\r\nanother\r\n",
    b"\r\nbody after an empty header block\r\n",
    b": no name\r\n\r\n",
])
def test_messages_without_headers_are_malformed(content: bytes) -> None:
    with pytest.raises(MalformedMessage):
        parse_headers(content)


def test_only_the_header_block_is_read() -> None:
    content = incoming("Message-ID: <m1@example.com>") + b"Auto-Submitted: auto-generated\r\n"
    parsed = parse_headers(content)
    assert parsed.message_id == "<m1@example.com>"
    assert not parsed.has("Auto-Submitted")  # that line is in the body
    huge = b"X-Filler: " + b"a" * MAX_HEADER_BYTES + b"\r\nList-Id: <late>\r\n\r\n"
    assert not parse_headers(b"From: a@example.com\r\n" + huge).has("List-Id")


def test_message_ids_and_references_are_read_defensively() -> None:
    parsed = parse_headers(incoming("Message-ID: junk without brackets",
                                    "References: <a@x> <b@x>\r\n <c@x>"))
    assert parsed.message_id is None
    assert parsed.references == ["<a@x>", "<b@x>", "<c@x>"]
    assert parse_headers(incoming("In-Reply-To: <p@x>")).references == ["<p@x>"]


def test_display_name_only_for_the_envelope_sender() -> None:
    parsed = parse_headers(b"From: =?utf-8?q?Zo=C3=AB?= <zoe@example.com>\r\n\r\n")
    assert parsed.display_name("ZOE@example.com") == "Zoë"
    assert parsed.display_name("someone.else@example.com") == ""


@pytest.mark.parametrize(("rcpt", "address"), [
    ("payroll@example.com", "payroll@example.com"),
    ("<payroll#example.com@autoreply.example.net>", "payroll@example.com"),
    ("payroll=example.com@autoreply.example.net", "payroll@example.com"),
    ("a=b@example.com", "a=b@example.com"),  # no dotted domain after the mark: an ordinary address
])
def test_recipient_address_decodes_copies_addressed_to_the_responder(rcpt: str, address: str) -> None:
    assert recipient_address(rcpt) == address

