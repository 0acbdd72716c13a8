"""directory.mail.compose: the reply as an Internet message, well-formed whatever the names hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, cast

import pytest

from directory.autoreply import AutoReply
from directory.mail.compose import MAX_NAME_CHARS, ReplyEnvelope, compose_reply, reply_body, reply_headers

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


def reply(subject: str = "We got your message", text: str = "Hello,\n\nWe reply by Tue 26 Nov, 11:00.\n",
          html: str = "<p>Hello,</p><p>We reply by Tue 26 Nov, 11:00.</p>") -> AutoReply:
    return AutoReply(subject=subject, text=text, html=html, template_used="default")


def envelope(**overrides: Any) -> ReplyEnvelope:
    fields: dict[str, Any] = {"team_name": "Payroll", "team_address": "payroll@example.com", "to": "a@example.com",
                              "in_reply_to": None}
    return ReplyEnvelope(**{**fields, **overrides})


def parsed(message: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(message, policy=default_policy))


def test_compose_from_a_no_reply_address_with_reply_to_the_team() -> None:
    message = compose_reply(reply("Ré: Paie\r\nBcc: victim@example.com"), ReplyEnvelope(
        team_name="Paie", team_address="paie@example.com", to="a@example.com", in_reply_to=None,
        mail_from="noreply@directory.example"), datetime(2026, 12, 1, 10, tzinfo=UTC))
    assert message.isascii()
    parsed = message_from_bytes(message, policy=default_policy)
    assert parsed["From"].addresses[0].addr_spec == "noreply@directory.example"
    assert parsed["Reply-To"].addresses[0].addr_spec == "paie@example.com"
    assert parsed["Bcc"] is None and parsed["Subject"] == "Ré: Paie Bcc: victim@example.com"
    assert parsed["In-Reply-To"] is None and parsed["References"] is None
    assert parsed["Message-ID"].endswith("@directory.example>")
    assert parsed["Date"] == "Tue, 01 Dec 2026 10:00:00 +0000"


def test_a_reply_from_the_team_itself_is_marked_automatic_and_carries_both_bodies() -> None:
    message = parsed(compose_reply(reply(), envelope(), NOW))
    assert message["From"].addresses[0].display_name == "Payroll"
    assert message["From"].addresses[0].addr_spec == "payroll@example.com"
    assert message["Reply-To"] is None
    assert message["To"] == "a@example.com"
    assert message["Auto-Submitted"] == "auto-replied" and message["X-Auto-Response-Suppress"] == "All"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and text.get_content().replace("\r\n", "\n") == "Hello,\n\nWe reply by Tue 26 Nov, 11:00.\n"
    assert html is not None and "<p>We reply by Tue 26 Nov, 11:00.</p>" in html.get_content()


def test_sending_from_the_teams_own_address_in_another_case_adds_no_reply_to() -> None:
    message = parsed(compose_reply(reply(), envelope(mail_from="PAYROLL@example.com"), NOW))
    assert message["Reply-To"] is None
    assert message["From"].addresses[0].addr_spec == "PAYROLL@example.com"


def test_line_breaks_in_any_name_cannot_add_a_header() -> None:
    message_bytes = compose_reply(reply("Line one\nBcc: victim@example.com"), envelope(
        team_name="Pay\r\nBcc: a@evil.example", to_name="Dana\r\nBcc: b@evil.example",
        mail_from="noreply@directory.example"), NOW)
    message = parsed(message_bytes)
    assert message["Bcc"] is None
    assert message["From"].addresses[0].display_name == "Pay Bcc: a@evil.example"
    assert message["Reply-To"].addresses[0].display_name == "Pay Bcc: a@evil.example"
    assert message["To"].addresses[0].display_name == "Dana Bcc: b@evil.example"
    assert message["To"].addresses[0].addr_spec == "a@example.com"
    headers = message_bytes.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not [line for line in headers if line.lower().startswith(b"bcc")]


def test_non_ascii_names_become_encoded_words() -> None:
    message_bytes = compose_reply(reply("Réponse automatique"), envelope(team_name="Équipe paie", to_name="Zoë"), NOW)
    head = message_bytes.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head
    message = parsed(message_bytes)
    assert message["Subject"] == "Réponse automatique"
    assert message["To"].addresses[0].display_name == "Zoë"
    assert message["From"].addresses[0].display_name == "Équipe paie"


def test_long_names_are_cut() -> None:
    _id, headers = reply_headers(envelope(to_name="y" * 500), NOW)
    assert headers.startswith(b"To: " + b"y" * MAX_NAME_CHARS + b" <a@example.com>\r\n")
    body = reply_body(reply(), "z" * 500, "payroll@example.com", None)
    assert max(len(run) for run in re.findall(rb"z+", body)) <= MAX_NAME_CHARS


def test_a_blank_subject_names_the_team() -> None:
    message = parsed(compose_reply(reply(" \r\n "), envelope(), NOW))
    assert message["Subject"] == "About your message to Payroll"


def test_the_reply_is_threaded_under_the_message_and_its_last_references() -> None:
    references = (*(f"<r{i}@mail.example>" for i in range(12)), "not an id", "<has space@x>")
    message = parsed(compose_reply(reply(), envelope(in_reply_to="<m1@mail.example>", references=references), NOW))
    assert message["In-Reply-To"] == "<m1@mail.example>"
    assert message["References"].split() == [*(f"<r{i}@mail.example>" for i in range(3, 12)), "<m1@mail.example>"]


@pytest.mark.parametrize("in_reply_to", ["no-angle@example.com", "<with space@x>", "<a@x>\r\nBcc: b@x", "<>", ""])
def test_a_malformed_message_id_is_not_answered_in_thread(in_reply_to: str) -> None:
    message_id, headers = reply_headers(envelope(in_reply_to=in_reply_to, references=("<r1@x>",)), NOW)
    assert b"In-Reply-To" not in headers and b"References" not in headers and b"Bcc" not in headers
    assert re.fullmatch(r"<[^<>\s]+@example\.com>", message_id)


def test_each_reply_has_its_own_message_id_in_the_senders_domain() -> None:
    first, _ = reply_headers(envelope(mail_from="noreply@directory.example"), NOW)
    second, headers = reply_headers(envelope(mail_from="noreply@directory.example"), NOW)
    assert first != second and first.endswith("@directory.example>")
    assert f"Message-ID: {second}\r\n".encode() in headers
    assert headers.endswith(b"\r\n") and not headers.endswith(b"\r\n\r\n")


def test_the_teams_part_holds_nothing_about_one_reader() -> None:
    head = reply_body(reply(), "Payroll", "payroll@example.com", None).split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"From: Payroll <payroll@example.com>\r\n")
    names = {line.split(b":", 1)[0] for line in head.split(b"\r\n") if line and not line[:1].isspace()}
    assert not names & {b"To", b"Date", b"Message-ID", b"In-Reply-To", b"References"}
    whole = compose_reply(reply(), envelope(to="b@example.com"), NOW)
    assert whole.startswith(b"To: b@example.com\r\nDate: ") and whole.count(b"\r\nFrom: ") == 1


def test_a_blank_subject_names_a_team_whose_name_holds_a_line_break() -> None:
    message = parsed(compose_reply(reply(""), envelope(team_name="Pay\r\nroll"), NOW))
    assert message["Subject"] == "About your message to Pay roll"


def test_a_reply_with_non_ascii_text_is_seven_bit() -> None:
    message = compose_reply(reply(text="Merci, l'équipe répond demain.\n", html="<p>Merci, l'équipe</p>"),
                            envelope(), NOW)
    assert message.isascii()
