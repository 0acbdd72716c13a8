"""Auto-replies: what the directory answers, on a team's behalf, to someone who wrote to it.

Pure domain code. The caller works out the facts (open now, reply-by, turnarounds — already
worded for people) and this package turns them into a subject, a plain-text body and an HTML
body, from the built-in default or from the team's own template. Team templates are untrusted:
they run in a budgeted sandbox, and any part that fails falls back to the default wording.

- ``facts``: ``ReplyFacts`` (what a reply says), ``AutoReply`` (the result), ``SAMPLE_FACTS``.
- ``variables``: the documented variables a template sees, built from the facts.
- ``sandbox``: the budgeted Jinja sandbox: what a template may do and what it may cost.
- ``blocks``: paragraphs, bullets and links, written out as plain text and as safe HTML.
- ``default_reply``: the directory's own wording.
- ``render``: ``render_auto_reply``, the reply to send.
- ``check``: ``check_template``, whether a template may be saved.

Addresses are matched with ``directory.contacts`` (the one e-mail rule).
"""

from directory.autoreply.check import check_template
from directory.autoreply.facts import SAMPLE_FACTS, AutoReply, ReplyFacts
from directory.autoreply.render import render_auto_reply

__all__ = ["SAMPLE_FACTS", "AutoReply", "ReplyFacts", "check_template", "render_auto_reply"]
