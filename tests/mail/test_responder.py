"""The responder end to end: real SMTP on loopback into the `directory mail-responder` command,
replies collected by a local SMTP sink acting as its relay (CONTRACT §5)."""

from __future__ import annotations

import queue
import smtplib
import threading
import time
import uuid
from collections.abc import Callable

import pytest

from tests.mail.conftest import MailWorld, message, unique_sender


def _counter_delta(world: MailWorld, before: dict[str, int], name: str) -> int:
    return world.counters().get(name, 0) - before.get(name, 0)


def test_a_message_gets_one_threaded_reply_with_the_teams_auto_reply(world: MailWorld) -> None:
    team = world.team(name="Payroll Desk")
    sender = unique_sender("alice")
    original_id = f"<{uuid.uuid4().hex}@mail.example.com>"
    earlier_id = "<earlier@mail.example.com>"
    world.send(sender, [team["address"]], message(f"Alice <{sender}>", team["address"], message_id=original_id,
                                                  headers={"References": earlier_id}))

    [delivered] = world.sink.wait_for(sender)
    assert delivered.mail_from == "<>" or delivered.mail_from == ""  # null return path: RFC 3834 §3.3
    reply = delivered.message
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == original_id
    assert reply["References"].split() == [earlier_id, original_id]
    assert reply["To"].addresses[0].addr_spec == sender
    assert reply["To"].addresses[0].display_name == "Alice"
    assert reply["From"].addresses[0].addr_spec == team["address"]
    assert reply["From"].addresses[0].display_name == "Payroll Desk"
    assert reply["Message-ID"] and reply["Date"]
    assert reply.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content().replace("\r\n", "\n") for part in reply.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}

    # The same words the API gives for that team at the message's arrival.
    [queued] = world.outbox(team["id"])
    client = world.app.test_client()
    expected = client.get("/api/v1/auto-reply", query_string={
        "to": team["address"], "format": "json",
        "at": queued.received_at.replace(second=0, microsecond=0).isoformat()}).get_json()
    assert reply["Subject"] == expected["subject"]
    assert parts["text/plain"].strip() == expected["text"].strip()
    assert parts["text/html"].strip() == expected["html"].strip()
    assert "Payroll Desk" in parts["text/plain"]

    time.sleep(0.5)
    assert len(world.sink.to(sender)) == 1


SUPPRESSED = {
    "auto_submitted": ({"Auto-Submitted": "auto-generated"}, None),
    "auto_replied": ({"Auto-Submitted": "auto-replied; owner-email=x@example.com"}, None),
    "precedence_bulk": ({"Precedence": "bulk"}, None),
    "precedence_list": ({"Precedence": "list"}, None),
    "precedence_junk": ({"Precedence": "Junk"}, None),
    "list_id": ({"List-Id": "Staff news <news.example.com>"}, None),
    "list_unsubscribe": ({"List-Unsubscribe": "<mailto:leave@example.com>"}, None),
    "null_sender": ({}, ""),
    "mailer_daemon": ({}, "MAILER-DAEMON@mx.example.com"),
    "postmaster": ({}, "postmaster@example.com"),
    "no_reply": ({}, "no-reply@tools.example.com"),
    "noreply": ({}, "noreply@tools.example.com"),
    "do_not_reply": ({}, "donotreply@tools.example.com"),
}


@pytest.mark.parametrize("case", sorted(SUPPRESSED))
def test_no_reply_to_automatic_list_or_system_mail(world: MailWorld, probe: Callable[[], None], case: str) -> None:
    headers, envelope_sender = SUPPRESSED[case]
    team = world.team()
    sender = unique_sender() if envelope_sender is None else envelope_sender
    before = world.counters()
    world.send(sender, [team["address"]], message(sender or "someone@example.com", team["address"], headers=headers))

    assert world.outbox(team["id"]) == []  # decided and committed before the 250
    assert sum(_counter_delta(world, before, name) for name in world.counters() if name.startswith("suppressed:")) == 1
    probe()
    assert [d for d in world.sink.received if team["address"] in d.data.decode(errors="replace")] == []


def test_auto_submitted_no_is_answered(world: MailWorld) -> None:
    team = world.team()
    sender = unique_sender()
    world.send(sender, [team["address"]], message(sender, team["address"], headers={"Auto-Submitted": "no"}))
    assert len(world.sink.wait_for(sender)) == 1


def test_no_reply_to_the_teams_own_address(world: MailWorld, probe: Callable[[], None]) -> None:
    team = world.team()
    before = world.counters()
    own = team["address"].replace("@", "+loop@")
    world.send(own, [team["address"]], message(own, team["address"]))
    assert world.outbox(team["id"]) == []
    assert _counter_delta(world, before, "suppressed:own_address") == 1
    probe()
    assert world.sink.to(own) == []


def test_the_same_sender_hears_once_per_period(world: MailWorld, probe: Callable[[], None]) -> None:
    team = world.team()
    sender = unique_sender()
    before = world.counters()
    world.send(sender, [team["address"]], message(sender, team["address"]))
    world.send(sender, [team["address"]], message(sender, team["address"], subject="Again"))
    world.send(sender.upper(), [team["address"].upper()], message(sender, team["address"], subject="Shouting"))
    probe()
    assert len(world.sink.wait_for(sender)) == 1
    assert _counter_delta(world, before, "suppressed:recently_answered") == 2
    # Another team still answers that sender.
    other = world.team()
    world.send(sender, [other["address"]], message(sender, other["address"]))
    assert len(world.sink.wait_for(sender, count=2)) == 2


def test_a_message_to_two_teams_gets_two_replies(world: MailWorld) -> None:
    first, second = world.team(name="First Line"), world.team(name="Second Line")
    sender = unique_sender()
    world.send(sender, [first["address"], second["address"]],
               message(sender, f"{first['address']}, {second['address']}"))
    delivered = world.sink.wait_for(sender, count=2)
    assert sorted(d.message["From"].addresses[0].addr_spec for d in delivered) == sorted(
        [first["address"], second["address"]])
    time.sleep(0.5)
    assert len(world.sink.to(sender)) == 2


def test_mail_for_an_unknown_address_is_accepted_and_ignored(world: MailWorld, probe: Callable[[], None]) -> None:
    sender = unique_sender()
    before = world.counters()
    world.send(sender, [f"nobody-{uuid.uuid4().hex[:6]}@example.com"], message(sender, "nobody@example.com"))
    assert _counter_delta(world, before, "suppressed:unknown_address") == 1
    assert _counter_delta(world, before, "queued") == 0
    probe()
    assert world.sink.to(sender) == []


def test_non_ascii_names_and_subjects_are_encoded(world: MailWorld) -> None:
    team = world.team(name="Équipe Paie — Zürich")
    sender = unique_sender("zoe")
    incoming = message(f"=?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <{sender}>", team["address"],
                       subject="=?utf-8?q?O=C3=B9_est_ma_fiche_de_paie_=E2=82=AC?=")
    world.send(sender, [team["address"]], incoming)
    [delivered] = world.sink.wait_for(sender)
    raw = delivered.data
    assert raw.isascii()  # every header encoded, every body part transfer-encoded
    reply = delivered.message
    assert reply["From"].addresses[0].display_name == "Équipe Paie — Zürich"
    assert reply["To"].addresses[0].display_name == "Zoë Ångström"
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]
    assert "Zürich" in reply["Subject"]
    text = next(p for p in reply.iter_parts() if p.get_content_type() == "text/plain")
    assert text.get_content_charset() == "utf-8"
    assert "Équipe Paie — Zürich" in text.get_content()


def test_a_malformed_message_is_accepted_and_skipped(world: MailWorld) -> None:
    team = world.team()
    sender = unique_sender()
    before = world.counters()
    world.send(sender, [team["address"]], b"\x00\x01\xff this is not a header\r\nnor is this\r\n")
    assert world.outbox(team["id"]) == []
    assert _counter_delta(world, before, "suppressed:malformed") == 1
    assert "malformed" in world.log()
    # The responder carries on.
    world.send(sender, [team["address"]], message(sender, team["address"]))
    assert len(world.sink.wait_for(sender)) == 1


def test_a_huge_message_is_accepted_and_answered_from_its_headers(world: MailWorld) -> None:
    team = world.team()
    sender = unique_sender()
    body = ("x" * 76 + "\r\n") * 130_000 + "." * 5000 + "\r\n"  # 10 MB, and an over-long line
    started = time.monotonic()
    world.send(sender, [team["address"]], message(sender, team["address"], body=body))
    assert time.monotonic() - started < 10
    assert len(world.sink.wait_for(sender)) == 1


def test_a_reply_waits_for_the_relay_and_arrives_once(world: MailWorld) -> None:
    team = world.team()
    sender = unique_sender()
    before = world.counters()
    world.sink.stop()
    try:
        world.send(sender, [team["address"]], message(sender, team["address"]))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _counter_delta(world, before, "relay_errors") < 2:
            time.sleep(0.1)
        [waiting] = world.outbox(team["id"])
        assert waiting.status == "queued" and waiting.attempts >= 2 and waiting.last_error
    finally:
        world.sink.start()
    assert len(world.sink.wait_for(sender, timeout=15)) == 1
    time.sleep(1.0)
    assert len(world.sink.to(sender)) == 1
    deadline = time.monotonic() + 5
    while world.outbox(team["id"])[0].status != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)  # the relay's "250" comes just before the reply is marked sent
    [sent] = world.outbox(team["id"])
    assert sent.status == "sent" and sent.attempts >= 3
    assert _counter_delta(world, before, "failed") == 0


def test_the_responder_speaks_smtp_to_the_mail_server(world: MailWorld) -> None:
    """Every recipient is accepted (refusing one would bounce the sender's mail)."""
    with smtplib.SMTP("127.0.0.1", world.port, timeout=10) as smtp:
        code, _ = smtp.ehlo("mx.example.com")
        assert code == 250
        assert smtp.mail("someone@example.com")[0] == 250
        assert smtp.rcpt("whoever@nowhere.example")[0] == 250


def test_a_copy_addressed_to_the_responder_names_the_team_in_its_local_part(world: MailWorld) -> None:
    """What Postfix's recipient_bcc_maps sends (docs/mail.md): payroll#example.com@autoreply…"""
    team = world.team()
    local, domain = team["address"].split("@")
    sender = unique_sender()
    world.send(sender, [f"{local}#{domain}@autoreply.example.net"], message(sender, team["address"]))
    [delivered] = world.sink.wait_for(sender)
    assert delivered.message["From"].addresses[0].addr_spec == team["address"]


def test_responder_processes_share_their_memory(world: MailWorld) -> None:
    team = world.team()
    sender = unique_sender()
    world.send(sender, [team["address"]], message(sender, team["address"]))
    assert len(world.sink.wait_for(sender)) == 1
    world.send(sender, [team["address"]], message(sender, team["address"], subject="Again"), port=world.other_port)
    fresh = unique_sender()
    world.send(fresh, [team["address"]], message(fresh, team["address"]), port=world.other_port)
    assert len(world.sink.wait_for(fresh)) == 1  # the second process answers and sends too
    assert len(world.sink.to(sender)) == 1
    assert [r.recipient for r in world.outbox(team["id"])] == [fresh, sender]


def test_when_the_database_is_away_the_mail_server_is_asked_to_retry() -> None:
    """Nothing is accepted that is not recorded: a "451" makes the sending server try again later."""
    from sqlalchemy.exc import OperationalError

    from directory.mail.responder import Responder, serve

    def unreachable() -> None:
        raise OperationalError("connect", {}, Exception("database is away"))

    stop, bound = threading.Event(), queue.Queue()
    thread = threading.Thread(target=serve, args=(Responder(unreachable), ("127.0.0.1", 0), ("127.0.0.1", 9)),
                              kwargs={"ready": bound.put, "stop": stop}, daemon=True)
    thread.start()
    try:
        host, port = bound.get(timeout=30)
        with smtplib.SMTP(host, port, timeout=30) as smtp, pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("a@staff.example.com", ["payroll@example.com"], message("a@staff.example.com", "x"))
        assert refused.value.smtp_code == 451
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
