"""directory.contacts: one e-mail rule, one normalisation, one phone and chat link (issue 11)."""

from __future__ import annotations

from typing import Any

import pytest

from directory.contacts import ADDRESS_RE, chat_href, email_problem, is_email, normalize_address, tel_href

GOOD = ["payroll@example.com", "Payroll@Example.COM", "first.last@example.co.uk", "o'brien+pay@example.com",
        "it-help@mail.example.com", "dana@localhost"]
BAD = ["payroll@example.com.", "first..last@example.com", ".payroll@example.com", "payroll.@example.com",
       "payroll@example", "payroll@-example.com", "pay roll@example.com", "payroll@@example.com",
       "payroll@example..com", "", "@example.com", "payroll@",
       "a" * 250 + "@example.com"]


@pytest.mark.parametrize("address", GOOD)
def test_a_stored_address_is_one_that_answers(address: str) -> None:
    assert email_problem(address) is None and is_email(address)
    assert normalize_address(address) == address.lower().replace("+pay", "")


@pytest.mark.parametrize("address", BAD)
def test_an_address_that_could_never_answer_is_refused(address: str) -> None:
    assert email_problem(address) is not None
    assert not is_email(address)
    assert normalize_address(address) is None


def test_normalize_address_accepts_the_ways_people_write_one() -> None:
    assert email_problem("Payroll <payroll@example.com>") is not None  # stored plain, found either way
    assert normalize_address("Payroll <payroll@example.com>") == "payroll@example.com"
    assert normalize_address('"Payroll" <Payroll+urgent@Example.com>') == "payroll@example.com"
    assert normalize_address("mailto:payroll@example.com?subject=Hi") == "payroll@example.com"
    assert normalize_address("payroll@example.com, legal@example.com") is None
    assert normalize_address("payroll@example.com\r\nBcc: x@example.com") is None


@pytest.mark.parametrize(("number", "href"), [
    ("+44 20 7946 0100 ext. 12", "tel:+442079460100;ext=12"),
    ("+44 20 7946 0100 x12", "tel:+442079460100;ext=12"),
    ("+44 (0)20 7946-0130", "tel:+442079460130"),
    ("555 0100 x 12", "tel:5550100;ext=12"),
    ("(866) 450-6588, press 2", "tel:8664506588"),
    ("888-262-7848 (TTY)", "tel:8882627848"),
    ("+1 212 555 0100", "tel:+12125550100"),
])
def test_tel_href_is_rfc_3966(number: str, href: str) -> None:
    assert tel_href(number) == href


def test_chat_href() -> None:
    assert chat_href("#payroll-help", "https://chat.example/channels/{channel}") == \
        "https://chat.example/channels/payroll-help"
    assert chat_href("@dana", "https://chat.example/u/{channel}") == "https://chat.example/u/dana"
    assert chat_href("https://chat.example/x") == "https://chat.example/x"
    assert chat_href("#payroll-help") is None


# --- the address a message was sent to, in the one form the auto-reply looks teams up by


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("payroll@example.com", "payroll@example.com"),
        ('"Payroll" <Payroll+urgent@Example.com>', "payroll@example.com"),
        ("Payroll Team <payroll@example.com>", "payroll@example.com"),
        ("<payroll@example.com>", "payroll@example.com"),
        ("  PAYROLL@EXAMPLE.COM \t", "payroll@example.com"),
        ("payroll+tag+more@example.com", "payroll@example.com"),
        ("mailto:payroll@example.com", "payroll@example.com"),
        ("MAILTO:Payroll@Example.com?subject=Hi", "payroll@example.com"),
        ("Payroll <mailto:payroll+x@example.com>", "payroll@example.com"),
        ('"Doe, John" <john.doe@example.co.uk>', "john.doe@example.co.uk"),
        ("payroll@example.com (Payroll team)", "payroll@example.com"),
        ("Payroll\r\n <payroll@example.com>", "payroll@example.com"),  # a folded header
    ],
)
def test_normalize_address_finds_the_one_form(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected
    assert ADDRESS_RE.fullmatch(expected)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "not an address", "payroll", "@example.com", "payroll@", "a@b@c.com", "+tag@example.com",
     "payroll@example", "pay roll@example.com", "payroll@exa_mple.com", "john..doe@example.com", "<>",
     "payroll@example.com, hr@example.com", "payroll@example.com\nBcc: victim@example.com",
     "pay\x00roll@example.com", "x" * 2000 + "@example.com", None, 42],
)
def test_normalize_address_refuses_what_is_not_one_address(raw: Any) -> None:
    assert normalize_address(raw) is None
