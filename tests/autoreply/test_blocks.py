"""directory.autoreply.blocks: one structure, written out as plain text and as the only HTML."""

from __future__ import annotations

import pytest

from directory.autoreply.blocks import Block, Link, Strong, blocks_html, blocks_text, linkify, safe_href, text_blocks


@pytest.mark.parametrize(("url", "href"), [
    ("https://payroll.example/form", "https://payroll.example/form"),
    ("  http://payroll.example  ", "http://payroll.example"),
    ("mailto:payroll@example.com", "mailto:payroll@example.com"),
    ("TEL:+442079460000", "TEL:+442079460000"),
    ("https://", None),
    ("https:///path-only", None),
    ("/teams/payroll", None),
    ("javascript:alert(1)", None),
    ("data:text/html,<b>x</b>", None),
    ("https://payroll.example/a b", None),
    ("https://payroll.example/\x07", None),
    ("mailto:", None),
    ("", None),
])
def test_safe_href_links_only_web_mail_and_phone(url: str, href: str | None) -> None:
    assert safe_href(url) == href


def test_linkify_leaves_closing_punctuation_outside_the_link() -> None:
    segments = linkify("See https://wiki.example/a_(b)). Or mailto:hr@example.com, then http://x.example.")

    assert segments == [
        "See ", Link("https://wiki.example/a_(b)", "https://wiki.example/a_(b)"), "). Or ",
        Link("mailto:hr@example.com", "mailto:hr@example.com"), ", then ",
        Link("http://x.example", "http://x.example"), ".",
    ]
    assert linkify("no links here") == ["no links here"]
    assert linkify("") == []


def test_text_and_html_say_the_same() -> None:
    blocks: list[Block] = [
        [(False, ("Hello <team>,",))],
        [(False, ("Reply by ", Strong("Tue & Wed"), ".")), (True, ("Form: ", Link("https://f.example", "the form"))),
         (True, ("Bad: ", Link("javascript:x", "click")))],
    ]

    assert blocks_text(blocks) == "Hello <team>,\n\nReply by Tue & Wed.\n- Form: the form\n- Bad: click\n"
    assert blocks_html(blocks) == (
        "<p>Hello &lt;team&gt;,</p>\n"
        "<p>Reply by <strong>Tue &amp; Wed</strong>.</p>\n"
        '<ul>\n<li>Form: <a href="https://f.example">the form</a></li>\n<li>Bad: click</li>\n</ul>\n'
    )


def test_text_blocks_reads_paragraphs_and_bullets_back() -> None:
    text = "Hi,\nthere\n\n- one\n* two\n  • three https://x.example\nafter\n \t\nend"

    assert blocks_html(text_blocks(text)) == (
        "<p>Hi,<br>\nthere</p>\n"
        "<ul>\n<li>one</li>\n<li>two</li>\n"
        '<li>three <a href="https://x.example">https://x.example</a></li>\n</ul>\n'
        "<p>after</p>\n"
        "<p>end</p>\n"
    )
    assert blocks_text(text_blocks(text)) == "Hi,\nthere\n\n- one\n- two\n- three https://x.example\nafter\n\nend\n"
