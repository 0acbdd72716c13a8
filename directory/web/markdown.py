"""Team descriptions: Markdown written by owners, rendered to HTML that is safe on the page.

markdown-it-py renders CommonMark (plus tables and strikethrough); nh3 then keeps only an allow-list
of tags and attributes, so no script, event handler, style or `javascript:` URL survives, whatever
the author typed (raw HTML included). Headings are moved down two levels so that a description's
`# Heading` sits under the team page's own <h1>/<h2>.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "em", "h3", "h4", "h5", "h6", "hr", "i",
    "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
HEADING_SHIFT = 2


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def render_markdown(text: str | None) -> Markup:
    """Markdown -> sanitised HTML, ready to place in a template (empty for no text)."""
    if not text or not text.strip():
        return Markup("")
    md = _parser()
    tokens = md.parse(text)
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            level = min(6, int(token.tag[1]) + HEADING_SHIFT)
            token.tag = f"h{level}"
        elif token.type in {"th_open", "td_open"}:
            # markdown-it marks column alignment as a style, which the sanitiser drops (no style
            # survives); the allowed `align` attribute says the same.
            style = str(token.attrGet("style") or "")
            if style.startswith("text-align:"):
                token.attrs.pop("style", None)
                token.attrSet("align", style.removeprefix("text-align:"))
    html = md.renderer.render(tokens, md.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)
