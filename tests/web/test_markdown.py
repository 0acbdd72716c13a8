"""directory.web.markdown: what owners write in Markdown keeps its form; nothing executable survives."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from directory.web.markdown import render_markdown


def start_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "<a href=\"jAvAsCrIpT:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<p onmouseover=\"alert(1)\">x</p>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<style>body{display:none}</style>",
    "<form action=\"https://evil.example\"><input name=x></form>",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
])
def test_markdown_leaves_nothing_executable(source: str) -> None:
    html = str(render_markdown(source))
    found = start_tags(html)
    assert not {t for t, _ in found} & {"script", "iframe", "style", "form", "input", "svg", "img"}, html
    for tag, attrs in found:
        for name, value in attrs:
            assert not name.startswith("on") and name not in {"style", "srcdoc"}, (tag, name)
            assert not (value or "").lower().replace("\t", "").startswith(("javascript:", "data:")), (tag, value)


def test_markdown_keeps_what_owners_write() -> None:
    html = str(render_markdown("# Title\n\n**Bold** and [a link](https://example.com)\n\n- one\n- two\n\n"
                               "| a | b |\n|---|---|\n| 1 | 2 |"))
    assert "<h3>Title</h3>" in html  # moved below the page's own headings
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">a link</a>' in html
    assert "<li>one</li>" in html and "<table>" in html and "<strong>Bold</strong>" in html
    assert str(render_markdown(None)) == "" and str(render_markdown("  ")) == ""


@pytest.mark.parametrize("source", [
    "<a href=\"#\" onclick=\"steal()\">x</a>",
    "<b onmouseover=alert(1)>x</b>",
    "<details ontoggle=alert(1) open><summary>s</summary>x</details>",
    "<td onpointerenter=alert(1)>x</td>",
    "<a href=\"https://example.com\" style=\"position:fixed;top:0\">x</a>",
])
def test_event_handlers_and_styles_are_dropped_from_allowed_tags(source: str) -> None:
    html = str(render_markdown(source))
    for _tag, attrs in start_tags(html):
        assert not any(name.startswith("on") or name == "style" for name, _ in attrs), html
    assert "alert" not in html and "steal" not in html and "position:fixed" not in html


@pytest.mark.parametrize("source", [
    "[x](vbscript:msgbox(1))",
    "[x](file:///etc/passwd)",
    "<a href=\"  javascript:alert(1)\">x</a>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "[x](JAVASCRIPT:alert(1))",
    "<a href=\"ftp://example.com/x\">x</a>",
])
def test_links_to_other_schemes_lose_their_target(source: str) -> None:
    html = str(render_markdown(source))
    hrefs = [value for _tag, attrs in start_tags(html) for name, value in attrs if name == "href"]
    assert hrefs == [], html


def test_mail_phone_and_web_links_are_kept_and_never_open_their_opener() -> None:
    html = str(render_markdown("[m](mailto:pay@example.com) [t](tel:+442079460100) [w](http://example.com) "
                               "<a href=\"https://example.com\" target=\"_blank\" rel=\"opener\">raw</a>"))
    anchors = [dict(attrs) for tag, attrs in start_tags(html) if tag == "a"]
    assert [a["href"] for a in anchors] == ["mailto:pay@example.com", "tel:+442079460100", "http://example.com",
                                            "https://example.com"]
    assert all(a["rel"] == "noopener noreferrer nofollow" and "target" not in a for a in anchors)


def test_headings_move_down_two_levels_and_stop_at_six() -> None:
    assert [str(render_markdown(f"{'#' * n} T")).strip() for n in range(1, 7)] == [
        "<h3>T</h3>", "<h4>T</h4>", "<h5>T</h5>", "<h6>T</h6>", "<h6>T</h6>", "<h6>T</h6>"]
    assert "<h1>" not in str(render_markdown("<h1>Raw</h1>")) and "Raw" in str(render_markdown("<h1>Raw</h1>"))


def test_comments_images_and_unknown_tags_leave_only_their_text() -> None:
    assert str(render_markdown("<!-- owners only -->Open")) == "Open"
    assert "<img" not in str(render_markdown("![logo](https://example.com/logo.png)"))
    assert str(render_markdown("a <u>b</u> <marquee>c</marquee>")).strip() == "<p>a b c</p>"


def test_code_shows_markup_as_text() -> None:
    assert str(render_markdown("`<script>alert(1)</script>`")).strip() == \
        "<p><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></p>"


def test_lists_keep_their_numbering_and_blocks_their_form() -> None:
    assert '<ol start="3">' in str(render_markdown("3. three\n4. four"))
    assert "<s>gone</s>" in str(render_markdown("~~gone~~"))
    assert str(render_markdown("<details><summary>More</summary>Body</details>")) == \
        "<details><summary>More</summary>Body</details>"
    assert '<abbr title="Human resources">HR</abbr>' in str(render_markdown('<abbr title="Human resources">HR</abbr>'))


def test_the_result_is_markup_a_template_will_not_escape_again() -> None:
    rendered = render_markdown("**a** & b")
    assert isinstance(rendered, Markup)
    assert str(Markup("{}").format(rendered)) == "<p><strong>a</strong> &amp; b</p>\n"


def test_table_column_alignment_survives() -> None:
    html = str(render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |"))
    cells = [dict(attrs) for tag, attrs in start_tags(html) if tag in {"th", "td"}]
    assert [c.get("align") for c in cells] == ["left", "right", "left", "right"]
