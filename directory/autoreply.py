"""Auto-replies: what the directory answers, on a team's behalf, to someone who wrote to it.

Pure domain code. The caller works out the facts (open now, reply-by, turnarounds — already
worded for people) and this module turns them into a subject, a plain-text body and an HTML
body, from the built-in default or from the team's own template.

Team templates are written by team owners and run on every incoming message, so they are
treated as untrusted:

* They run in Jinja's immutable sandbox and see only ``TEMPLATE_VARIABLES``, as plain
  str/bool/list/dict values, the filters in ``TEMPLATE_FILTERS``, harmless read-only methods
  of str/dict/list, and ``range``/``dict``/``namespace``/``cycler``/``joiner``. Private and
  internal attributes raise ``SecurityError`` instead of rendering empty.
* Unknown variable names are refused (``check_template`` names them; a render falls back);
  a missing key or attribute of a known variable renders as empty text, so
  ``{{ booking.url }}`` is blank when no booking is set.
* Every loop iteration, call, filter, produced character and element of a value walked is
  charged to one work budget; values may not grow past a size limit, ``range`` past
  ``MAX_RANGE`` items, a call past 32 arguments, integers past 64 bits; the output stops at
  ``MAX_OUTPUT_CHARS``; a deadline backs all of this up. ``check_template`` refuses a template
  whose trial render on the largest team a template can meet needs more than half the budget.
* The HTML body is the text render escaped as a whole, then split into paragraphs, lists
  and http(s)/mailto links: nothing an owner types, nor any value, can become markup.

Any failure falls back to the default for that part and says why in ``template_error``;
rendering never raises, whatever the template.
"""

from __future__ import annotations

import functools
import re
import time
import types
from collections.abc import Callable, Iterator, Mapping, MappingView
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias
from urllib.parse import urlsplit

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.ext import Extension
from jinja2.filters import FILTERS
from jinja2.lexer import Token, TokenStream
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import BlockReference, Context, LoopContext, Macro, TemplateReference, Undefined
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, escape

from directory.contacts import ADDRESS_RE, normalize_address, tel_href

__all__ = [
    "ADDRESS_RE",
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_SUBJECT_CHARS",
    "MAX_TEMPLATE_CHARS",
    "SAMPLE_FACTS",
    "TEMPLATE_FILTERS",
    "TEMPLATE_VARIABLES",
    "AutoReply",
    "ReplyFacts",
    "check_template",
    "normalize_address",
    "render_auto_reply",
    "template_context",
]

MAX_TEMPLATE_CHARS = 10_000
MAX_OUTPUT_CHARS = 20_000
MAX_SUBJECT_CHARS = 200

# Budget of one template render. A unit is about one character or a quarter element handled (well
# under a microsecond of work); a loop iteration, call, filter or operator costs _STEP more. A
# saved template must fit _SAVE_BUDGET on the largest team (`_WORST_FACTS`), so it renders within
# _WORK_BUDGET for any team, with room for branches the trials did not take; a template saved
# before this limit, or one that does much more for some team, falls back to the default after
# _WORK_BUDGET units (about a tenth of a second; the old 1,000,000 allowed one and a half).
_WORK_BUDGET = 240_000
_SAVE_BUDGET = 120_000
_STEP = 20
_DEADLINE_SECONDS = 1.0
# A call's arguments are each looked at (and spread arguments built) before it can be charged:
# ``loop.cycle(*range(900))`` in a loop cost seconds within the old budget.
_MAX_ARGS = 32
# Largest value a template may build, in characters of its text form (shared parts counted
# each time), so that printing, comparing or hashing any value stays cheap.
_MAX_VALUE = 100_000
_MAX_INT_BITS = 64


# --- addresses -------------------------------------------------------------------------------

# The one e-mail rule and its normalisation live in directory.contacts (issue 11); re-exported here.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- facts and result -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyFacts:
    """Everything a reply says, computed by the caller (hours engine, wording) for one instant.

    Text fields are already human-worded; ``*_reader`` variants are in the sender's time zone
    and given only when it differs from ``timezone``.
    """

    team_name: str
    team_slug: str
    team_url: str
    summary: str | None
    is_open: bool
    hours_published: bool
    status_text: str
    status_text_reader: str | None
    reply_by_text: str | None
    reply_by_text_reader: str | None
    response_time_text: str | None
    services: list[dict]
    booking: dict | None
    escalation: str | None
    contacts: list[dict]
    timezone: str
    status_text_zoned: str | None = None
    urgent_contacts: list[dict] = field(default_factory=list)
    notices: list[dict] = field(default_factory=list)  # active now: each {message, level}; shown in every reply


@dataclass(frozen=True)
class AutoReply:
    """A rendered reply. ``template_used`` is "team" when any part came from the team's
    template; ``template_error`` says why a part the team wrote was not used."""

    subject: str
    text: str
    html: str
    template_used: str = "default"
    template_error: str | None = None


# --- documented template surface ------------------------------------------------------------

TEMPLATE_VARIABLES: dict[str, str] = {
    "team_name": "The team's name, e.g. Payroll.",
    "team_slug": "The team's short name used in links, e.g. payroll.",
    "team_url": "Link to the team's page in the directory.",
    "summary": "One line on what the team does (may be empty).",
    "is_open": "True when the team is open right now.",
    "hours_published": "True when the team publishes its opening hours.",
    "status_text": "Open or closed right now, e.g. 'Open until 17:30' or "
    "'Closed — opens Monday at 09:00 (in 2 days)'.",
    "status_text_reader": "The same in the sender's time zone when it differs (else empty).",
    "reply_by_text": "When to expect a reply, e.g. 'Tue 26 Nov at 11:00'; empty when the team "
    "publishes no hours or no response time.",
    "reply_by_text_reader": "The same in the sender's time zone when it differs (else empty).",
    "response_time_text": "The usual response time, e.g. '4 business hours' (may be empty).",
    "services": "What the team helps with: a list, each with name, description, turnaround_text "
    "(e.g. '3 business days'), done_by_text (when it would be done if started now) and booking.",
    "booking": "How to book: method, url and instructions (empty when not set).",
    "escalation": "How to escalate (may be empty).",
    "contacts": "Other ways to reach the team: a list, each with kind (email, chat, phone or "
    "url), value and label.",
    "timezone": "The team's time zone, e.g. Europe/London; the times above are in it.",
    "status_text_zoned": "status_text with the team's zone named after its time, e.g. "
    "'Closed for Christmas Day — opens Mon 4 Jan at 09:00 London time (in 10 days)'.",
    "urgent_contacts": "The contacts for urgent matters (out of hours, emergencies, 24/7 lines): a list "
    "like contacts; the default reply offers them while the team is closed.",
}

TEMPLATE_FILTERS: tuple[str, ...] = (
    "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "filesizeformat",
    "first", "float", "format", "groupby", "int", "items", "join", "last", "length", "list",
    "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
    "select", "selectattr", "sort", "string", "striptags", "title", "tojson", "trim",
    "truncate", "unique", "upper", "urlencode", "wordcount", "wordwrap",
)  # fmt: skip
"""Filters a team template may use; the others either build markup or can blow up in size."""

_GLOBAL_NAMES = frozenset({"range", "dict", "namespace", "cycler", "joiner"})
_STR_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "isalnum", "isalpha", "isdigit",
    "islower", "isspace", "istitle", "isupper", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper",
})  # fmt: skip
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_TUPLE_ATTRS = frozenset({"count", "index", "grouper", "list"})  # groupby yields named tuples
_JINJA_OBJECTS = (
    LoopContext, Namespace, Cycler, Joiner, Macro, Undefined, TemplateReference, BlockReference,
)  # fmt: skip


# --- the sandbox ----------------------------------------------------------------------------


class _Refused(SecurityError):
    """The sandbox stopped a template (unsafe access or too much work)."""


class _TooCostly(_Refused):
    """The template ran out of its work budget (or time)."""


class _Problem(TemplateError):
    """A template that cannot be used as written (too long, unknown name, renders nothing)."""


@dataclass
class _Budget:
    left: int = _WORK_BUDGET
    deadline: float = field(default_factory=lambda: time.monotonic() + _DEADLINE_SECONDS)


_BUDGET: ContextVar[_Budget | None] = ContextVar("autoreply_budget", default=None)
_UNITS: ContextVar[int] = ContextVar("autoreply_units", default=_WORK_BUDGET)  # per render, as set by the caller


def _charge(units: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        raise _Refused("team templates only run inside render_auto_reply")
    budget.left -= units
    if budget.left < 0:
        raise _TooCostly("the template does too much work (too many loops or too much text)")
    if time.monotonic() > budget.deadline:
        raise _TooCostly("the template takes too long to render")


def _size(value: Any) -> int:
    """Cheap cost of handling a value once (no deep walk)."""
    if isinstance(value, (str, list, tuple, dict, set, frozenset, range)):
        return len(value)
    return 1


def _weight(value: Any) -> int:
    """Approximate length of a value's text form, shared parts counted each time.

    Raises when it passes _MAX_VALUE, stopping early, so checking costs at most that much; the
    elements walked are charged, since the walk is work the template made happen.
    """
    total = walked = 0
    pending = [value]
    while pending:
        item = pending.pop()
        walked += 1
        if walked & 255 == 0:
            _charge(1024)  # four units an element: a step of this walk is a few Python operations
        kind = type(item)
        if kind is str:  # the common cases first, without isinstance's walk of the class tree
            total += len(item) + 2
        elif kind is int and -(2**_MAX_INT_BITS) < item < 2**_MAX_INT_BITS:
            total += item.bit_length() // 3 + 2
        elif isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                raise _Refused(f"a number grew past {_MAX_INT_BITS} bits")
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, Namespace):
            pending.append(getattr(item, "_Namespace__attrs", None))
        elif isinstance(item, range):
            total += 2 + 8 * len(item)
        elif isinstance(item, (dict, list, tuple, set, frozenset, MappingView)):
            total += 2 + 2 * len(item)
            if total <= _MAX_VALUE:
                pending.extend(item.items() if isinstance(item, dict) else item)
        else:
            total += 8
        if total > _MAX_VALUE:
            raise _Refused(f"a value grew past {_MAX_VALUE:,} characters")
    _charge(4 * (walked & 255))
    return total


def _settle(value: Any) -> Any:
    """Make a value produced by template code concrete and check its size.

    Lazy results (``map``, ``select``…) become lists so later steps see their real size.
    """
    if isinstance(value, range):
        return value
    if isinstance(value, Iterator) and not isinstance(value, _JINJA_OBJECTS):
        items = []
        for item in value:
            items.append(item)
            if len(items) > _MAX_VALUE:
                raise _Refused(f"a list grew past {_MAX_VALUE:,} items")
        value = items
    _weight(value)
    return value


def _budget_range(*args: int) -> range:
    """``range`` for templates: lazy, at most MAX_RANGE items; each iteration is charged."""
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_RANGE
    except OverflowError:
        too_long = True
    if too_long:
        raise _Refused(f"range() is limited to {MAX_RANGE:,} items")
    return numbers


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(fmt: Any, *_args: Any, **_kwargs: Any) -> None:
    """Refuse ``'%999999999d' % 1``-style widths before Python allocates them."""
    for match in _PRINTF_SPEC.finditer(str(fmt)):
        for number in match.groups():
            if number == "*" or (number and (len(number) > 6 or int(number) > _MAX_VALUE)):
                raise _Refused("format widths are limited")


def _check_replace(text: Any, old: Any = "", new: Any = "", count: Any = -1) -> None:
    """Refuse replacements whose result would pass the value limit (``s|replace('', s)``)."""
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > _MAX_VALUE:
        raise _Refused(f"a value would grow past {_MAX_VALUE:,} characters")


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    if _size(value) * len(str(d)) > _MAX_VALUE:
        raise _Refused(f"a value would grow past {_MAX_VALUE:,} characters")


def _check_wordwrap(
    s: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> None:
    text = str(s)
    if not isinstance(width, int) or not 1 <= width <= _MAX_VALUE:
        raise _Refused(f"wordwrap width must be between 1 and {_MAX_VALUE:,}")
    lines = len(text) // width + text.count("\n") + 1
    if len(text) + lines * len(str(wrapstring or "\n")) > _MAX_VALUE:
        raise _Refused(f"a value would grow past {_MAX_VALUE:,} characters")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        repeated = isinstance(times, int) and times > 0 and isinstance(seq, (str, list, tuple))
        if repeated and _weight(seq) * times > _MAX_VALUE:
            raise _Refused(f"a value would grow past {_MAX_VALUE:,} characters")
    both_ints = isinstance(left, int) and isinstance(right, int)
    if both_ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
        raise _Refused(f"a number would grow past {_MAX_INT_BITS} bits")


def _check_power(base: Any, exponent: Any) -> None:
    grows = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if grows and base.bit_length() * exponent > _MAX_INT_BITS:
        raise _Refused(f"a number would grow past {_MAX_INT_BITS} bits")


def _check_tojson(value: Any, indent: Any = None) -> None:
    width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    if width > 8:
        raise _Refused("tojson indent is limited to 8")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "format": _check_printf,
    "join": _check_join,
    "replace": _check_replace,
    "tojson": _check_tojson,
    "wordwrap": _check_wordwrap,
}


def _check_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse calls with many arguments before looking at each (``loop.cycle(*range(900))``)."""
    if len(args) + len(kwargs) > _MAX_ARGS:
        raise _Refused(f"a call may pass at most {_MAX_ARGS} arguments")


def _guard(func: Callable[..., Any], check: Callable[..., None] | None = None) -> Callable:
    """Wrap a filter or test so it is charged, pre-checked and its result size-checked.

    The wrapper takes the context, which also stops Jinja from running it at compile time,
    outside any budget.
    """
    kind = getattr(getattr(func, "jinja_pass_arg", None), "name", None)

    @functools.wraps(func)
    def guarded(context: Context, value: Any, /, *args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        sizes = sum(map(_size, args)) + sum(map(_size, kwargs.values()))
        _charge(_STEP + _size(value) + sizes)
        if check is not None:
            check(value, *args, **kwargs)
        lead: tuple[Any, ...] = ()
        if kind == "context":
            lead = (context,)
        elif kind == "eval_context":
            lead = (context.eval_ctx,)
        elif kind == "environment":
            lead = (context.environment,)
        return _settle(func(*lead, value, *args, **kwargs))

    return pass_context(guarded)


@pass_context
def _loop_filter(context: Context, iterable: Any) -> Iterator[Any]:
    """Wraps every ``for`` iterable: each iteration is charged, so nested loops run out."""
    for item in iterable:
        _charge(_STEP)
        yield item


@pass_context
def _charge_filter(context: Context, value: Any, units: int) -> str:
    """Runs at the start of every loop body, macro and block: charges its literal text."""
    _charge(units)
    return ""


@pass_context
def _value_filter(context: Context, value: Any) -> Any:
    """Checks literals and slices, which could otherwise nest exponentially or copy a lot (the
    check charges the elements it walks)."""
    _charge(_STEP)
    return _settle(value)


@pass_context
def _cost_filter(context: Context, value: Any) -> Any:
    """Charges the operands of comparisons (``==``, ``in``…), which walk whole values."""
    _charge(_weight(value))
    return value


@pass_context
def _concat_filter(context: Context, parts: list[Any]) -> str:
    """``a ~ b`` with a running size check (Jinja's own join has none)."""
    _charge(_STEP)
    texts, total = [], 0
    for part in parts:
        text = part if isinstance(part, str) else str(part)
        total += len(text)
        if total > _MAX_VALUE:
            raise _Refused(f"a value grew past {_MAX_VALUE:,} characters")
        texts.append(text)
    _charge(total)
    if context.eval_ctx.autoescape and any(hasattr(text, "__html__") for text in texts):
        return Markup("").join(texts)
    return "".join(texts)


@pass_context
def _finalize(context: Context, value: Any) -> Any:
    """Every ``{{ … }}`` output: None prints as nothing, and the output is charged."""
    if value is None:
        return ""
    _charge(_STEP + _weight(value))
    return value


_INTERNAL_FILTERS = {
    "_dir_loop": _loop_filter,
    "_dir_charge": _charge_filter,
    "_dir_value": _value_filter,
    "_dir_cost": _cost_filter,
    "_dir_concat": _concat_filter,
}


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, narrowed to what auto-reply templates need."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        if isinstance(obj, str):
            return attr in _STR_METHODS
        if isinstance(obj, dict):
            return attr in _DICT_METHODS
        if isinstance(obj, tuple):
            return attr in _TUPLE_ATTRS
        if isinstance(obj, list):
            return attr in {"count", "index"}
        return isinstance(obj, _JINJA_OBJECTS)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise _Refused(f"access to {attribute!r} of {type(obj).__name__} is not allowed")

    def wrap_str_format(self, value: Any) -> None:
        """``str.format`` can pad to any width; it is simply not offered."""
        return None

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs)
        owner = getattr(obj, "__self__", None) if isinstance(obj, types.BuiltinMethodType) else None
        sizes = sum(map(_size, args)) + sum(map(_size, kwargs.values()))
        _charge((5 * _STEP if isinstance(obj, Macro) else _STEP) + _size(owner) + sizes)
        if isinstance(owner, str) and obj.__name__ == "replace":
            _check_replace(owner, *args, **kwargs)
        return _settle(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _charge(_STEP)
        if operator == "*":
            _check_repeat(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
        return _settle(super().call_binop(context, operator, left, right))


def _loc(node: nodes.Node) -> dict[str, Any]:
    return {"lineno": node.lineno}


def _internal(node: nodes.Expr, name: str, *args: Any) -> nodes.Filter:
    consts: list[nodes.Expr] = [nodes.Const(arg, **_loc(node)) for arg in args]
    return nodes.Filter(node, name, consts, [], None, None, **_loc(node))


def _literal_chars(body: list[nodes.Node]) -> int:
    """Literal text a body outputs each time it runs, not counting nested repeated bodies."""
    total = 0
    pending: list[nodes.Node] = list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, nodes.TemplateData):
            total += len(node.data)
        repeated = isinstance(node, (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Block))
        pending.extend(node.iter_child_nodes(exclude=("body",) if repeated else None))
    return total


class _Instrument(NodeTransformer):
    """Rewrites a parsed team template so the costs Jinja does not expose are charged."""

    def _charged_body(self, node: nodes.Node) -> nodes.Node:
        node = self.generic_visit(node)
        units = _STEP + _literal_chars(node.body)
        charge = _internal(nodes.Const("", **_loc(node)), "_dir_charge", units)
        node.body.insert(0, nodes.Output([charge], **_loc(node)))
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self._charged_body(node)
        node.iter = _internal(node.iter, "_dir_loop")
        return node

    visit_Macro = visit_CallBlock = visit_Block = _charged_body

    def _checked_literal(self, node: nodes.Expr) -> nodes.Node:
        node = self.generic_visit(node)
        if isinstance(node, nodes.Tuple) and node.ctx != "load":
            return node
        return _internal(node, "_dir_value")

    visit_List = visit_Tuple = visit_Dict = _checked_literal

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        node = self.generic_visit(node)
        return _internal(node, "_dir_value") if isinstance(node.arg, nodes.Slice) else node

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        node = self.generic_visit(node)
        node.expr = _internal(node.expr, "_dir_cost")
        for operand in node.ops:
            operand.expr = _internal(operand.expr, "_dir_cost")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return _internal(nodes.List(node.nodes, **_loc(node)), "_dir_concat")


_LINE_END = re.compile(r"[ \t]*\n")


class _TagLines(Extension):
    """A line holding only ``{% … %}`` tags vanishes; a tag within a line keeps its line break.

    What owners expect of a mail template, where Jinja's ``trim_blocks`` would also eat the
    line break after ``… {% endif %}`` at the end of a sentence.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        at_line_start, tag_line = True, False
        for token in stream:
            if token.type == "data":
                value = token.value
                if tag_line and (end := _LINE_END.match(value)):
                    value = value[end.end() :]
                if value:
                    at_line_start = value.endswith("\n")
                token = Token(token.lineno, "data", value)
                tag_line = False
            elif token.type == "variable_begin":
                at_line_start = tag_line = False
            elif token.type == "block_end":
                tag_line = at_line_start
            yield token


@functools.cache
def _environment() -> _Sandbox:
    env = _Sandbox(
        undefined=ChainableUndefined,
        autoescape=False,
        lstrip_blocks=True,
        extensions=[_TagLines],
        optimized=False,
        finalize=_finalize,
        cache_size=0,
    )
    env.filters = {name: _guard(FILTERS[name], _FILTER_CHECKS.get(name)) for name in TEMPLATE_FILTERS}
    env.filters.update(_INTERNAL_FILTERS)
    env.tests = {name: _guard(test) for name, test in TESTS.items()}
    env.globals = {
        "range": _budget_range,
        "dict": dict,
        "namespace": Namespace,
        "cycler": Cycler,
        "joiner": Joiner,
    }
    return env


def _static_problems(ast: nodes.Template) -> list[str]:
    """What can be refused before running: other templates, unknown filters and names."""
    problems = []
    for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        problems.append(f"line {node.lineno}: other templates cannot be included or imported")
    for node in ast.find_all(nodes.Filter):
        if node.name not in TEMPLATE_FILTERS:
            problems.append(f"line {node.lineno}: unknown filter '{node.name}'")
    for node in ast.find_all(nodes.Test):
        if node.name not in TESTS:
            problems.append(f"line {node.lineno}: unknown test '{node.name}'")
    if problems:
        return problems
    allowed = TEMPLATE_VARIABLES.keys() | _GLOBAL_NAMES
    for name in sorted(find_undeclared_variables(ast) - allowed):
        line = next((n.lineno for n in ast.find_all(nodes.Name) if n.name == name), None)
        where = f"line {line}: " if line else ""
        problems.append(f"{where}unknown variable '{name}'")
    return problems


@functools.lru_cache(maxsize=128)
def _compile(source: str) -> Template:
    """Parse, vet, instrument and compile a team template (cached by source)."""
    env = _environment()
    ast = env.parse(source)
    problems = _static_problems(ast)
    if problems:
        raise _Problem("; ".join(problems))
    ast = _Instrument().visit(ast)
    ast.set_environment(env)
    return env.from_string(ast)


def _render(source: str, context: dict[str, Any]) -> str:
    """Render a team template under a fresh budget, stopping past MAX_OUTPUT_CHARS."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise _Problem(f"the template is longer than {MAX_TEMPLATE_CHARS:,} characters")
    budget = _Budget(left=_UNITS.get())
    token = _BUDGET.set(budget)
    try:
        template = _compile(source)
        _weight(context)
        budget.left = _UNITS.get()  # checking the team's data is not the template's doing
        chunks: list[str] = []
        length = 0
        stream = template.generate(context)
        try:
            for chunk in stream:
                length += len(chunk)
                if length > MAX_OUTPUT_CHARS:
                    raise _Refused(f"the output is longer than {MAX_OUTPUT_CHARS:,} characters")
                chunks.append(chunk)
        finally:
            stream.close()
        return "".join(chunks)
    finally:
        _BUDGET.reset(token)


def _describe(exc: BaseException) -> str:
    """A short, owner-readable reason, with the template line when known."""
    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    if isinstance(exc, RecursionError):
        message = "too deeply nested (or a macro that calls itself)"
    elif isinstance(exc, MemoryError):
        message = "ran out of memory"
    elif isinstance(exc, TemplateError):
        message = str(exc.message or type(exc).__name__)
    else:
        message = f"{type(exc).__name__}: {exc}"
    if len(message) > 300:
        message = message[:297] + "..."
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is not None and not message.startswith("line "):
        message = f"line {line}: {message}"
    return message


# --- template context -----------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _booking_dict(booking: Any) -> dict[str, str | None] | None:
    if not isinstance(booking, Mapping):
        return None
    return {key: _text(booking.get(key)) for key in ("method", "url", "instructions")}


def _items(values: Any) -> list[Mapping[str, Any]]:
    return [item for item in values or () if isinstance(item, Mapping)]


def template_context(facts: ReplyFacts) -> dict[str, Any]:
    """The documented variables — the facts under their own names — as fresh plain values:
    nothing a template reaches is shared with the caller or has methods beyond str/list/dict's."""
    return {
        "team_name": _text(facts.team_name) or "",
        "team_slug": _text(facts.team_slug) or "",
        "team_url": _text(facts.team_url) or "",
        "summary": _text(facts.summary),
        "is_open": bool(facts.is_open),
        "hours_published": bool(facts.hours_published),
        "status_text": _text(facts.status_text) or "",
        "status_text_reader": _text(facts.status_text_reader),
        "reply_by_text": _text(facts.reply_by_text),
        "reply_by_text_reader": _text(facts.reply_by_text_reader),
        "response_time_text": _text(facts.response_time_text),
        "services": [
            {
                "name": _text(service.get("name")),
                "description": _text(service.get("description")),
                "turnaround_text": _text(service.get("turnaround_text")),
                "done_by_text": _text(service.get("done_by_text")),
                "booking": _booking_dict(service.get("booking")),
            }
            for service in _items(facts.services)
        ],
        "booking": _booking_dict(facts.booking),
        "escalation": _text(facts.escalation),
        "contacts": [
            {key: _text(contact.get(key)) for key in ("kind", "value", "label")}
            for contact in _items(facts.contacts)
        ],
        "timezone": _text(facts.timezone) or "",
        "status_text_zoned": _text(facts.status_text_zoned) or _text(facts.status_text) or "",
        "urgent_contacts": [
            {key: _text(contact.get(key)) for key in ("kind", "value", "label")}
            for contact in _items(facts.urgent_contacts)
        ],
    }


# --- text and HTML building blocks ----------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    url: str
    label: str


@dataclass(frozen=True)
class _Strong:
    text: str


_Segment: TypeAlias = "str | _Link | _Strong"
_Line: TypeAlias = "tuple[_Segment, ...]"
_Block: TypeAlias = "list[tuple[bool, _Line]]"  # (is a bullet, line)

_URL_IN_TEXT = re.compile(r"(?:https?://|mailto:)[^\s<>\"']+", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-*•]\s+")


def _one_line(value: Any) -> str:
    """Single-line text (subjects are mail headers: no line breaks or control characters)."""
    return " ".join(_CONTROL.sub(" ", _text(value) or "").split())


def _sentence(value: str) -> str:
    value = value.strip()
    return value if not value or value[-1] in ".!?…" else value + "."


def _safe_href(url: str) -> str | None:
    """The URL when it may be linked: http(s) with a host, mailto or tel; else None."""
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    scheme, colon, rest = url.partition(":")
    scheme = scheme.lower()
    if not colon or not rest:
        return None
    if scheme in ("http", "https"):
        try:
            return url if urlsplit(url).netloc else None
        except ValueError:
            return None
    return url if scheme in ("mailto", "tel") else None


def _linkify(text: str) -> list[_Segment]:
    """Split free text so http(s) and mailto URLs in it become links in HTML."""
    segments: list[_Segment] = []
    position = 0
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group().rstrip(".,;:!?")
        while url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1].rstrip(".,;:!?")
        if match.start() > position:
            segments.append(text[position : match.start()])
        segments.append(_Link(url, url))
        position = match.start() + len(url)
    if position < len(text):
        segments.append(text[position:])
    return segments


def _line_text(line: _Line) -> str:
    parts = []
    for segment in line:
        if isinstance(segment, _Link):
            parts.append(segment.label or segment.url)
        elif isinstance(segment, _Strong):
            parts.append(segment.text)
        else:
            parts.append(segment)
    return "".join(parts)


def _line_html(line: _Line) -> str:
    parts = []
    for segment in line:
        if isinstance(segment, _Link):
            href = _safe_href(segment.url)
            label = escape(segment.label or segment.url)
            parts.append(f'<a href="{escape(href)}">{label}</a>' if href else str(label))
        elif isinstance(segment, _Strong):
            parts.append(f"<strong>{escape(segment.text)}</strong>")
        else:
            parts.append(str(escape(segment)))
    return "".join(parts)


def _blocks_text(blocks: list[_Block]) -> str:
    paragraphs = []
    for block in blocks:
        lines = [("- " if bullet else "") + _line_text(line) for bullet, line in block]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs) + "\n"


def _blocks_html(blocks: list[_Block]) -> str:
    """Paragraphs with line breaks, bullet runs as lists: the only markup ever produced."""
    html = []
    for block in blocks:
        runs: list[tuple[bool, list[_Line]]] = []
        for bullet, line in block:
            if runs and runs[-1][0] == bullet:
                runs[-1][1].append(line)
            else:
                runs.append((bullet, [line]))
        for bullet, lines in runs:
            if bullet:
                items = "".join(f"<li>{_line_html(line)}</li>\n" for line in lines)
                html.append(f"<ul>\n{items}</ul>")
            else:
                html.append("<p>" + "<br>\n".join(_line_html(line) for line in lines) + "</p>")
    return "\n".join(html) + "\n"


def _text_blocks(text: str) -> list[_Block]:
    """Read a rendered text body back as paragraphs (blank lines) and bullets (``- ``)."""
    blocks = []
    for paragraph in re.split(r"\n[ \t]*\n", text.strip()):
        block: _Block = []
        for raw in paragraph.split("\n"):
            bullet = _BULLET.match(raw)
            line = raw[bullet.end() :] if bullet else raw
            block.append((bool(bullet), tuple(_linkify(line.strip()))))
        blocks.append(block)
    return blocks


# --- the default reply ----------------------------------------------------------------------

_BOOKING_PHRASES = {
    "form": "fill in the form",
    "email": "send us an email",
    "calendar": "pick a time in our calendar",
    "chat": "message us on chat",
    "phone": "give us a call",
    "walk_in": "drop by in person",
    "ticket": "raise a ticket",
}
_CONTACT_KINDS = {"email": "Email", "chat": "Chat", "phone": "Phone", "url": "Web"}


def _url_link(url: str) -> _Link:
    label = re.sub(r"^(?:mailto|tel):", "", url, flags=re.IGNORECASE)
    return _Link(url, label or url)


def _booking_segments(booking: Any, lead: str) -> list[_Segment]:
    """``To book, fill in the form: <url> — <instructions>``; empty when nothing is set.

    The link ends the sentence without a full stop, so mail clients do not swallow one into it.
    """
    booking = _booking_dict(booking) or {}
    method, url = _one_line(booking.get("method")), (booking.get("url") or "").strip()
    instructions = _linkify(_sentence(booking.get("instructions") or ""))
    phrase = _BOOKING_PHRASES.get(method, f"use {method.replace('_', ' ')}" if method else "")
    head = f"{lead}, {phrase}" if phrase else lead
    if url:
        return [f"{head}: ", _url_link(url), *([" — ", *instructions] if instructions else [])]
    if phrase:
        return [f"{head}.", *([" ", *instructions] if instructions else [])]
    return [f"{head}: ", *instructions] if instructions else []


def _timing_block(facts: ReplyFacts) -> _Block:
    """Open or closed now and when to expect a reply; no promise without published hours."""
    if not facts.hours_published:
        return [(False, ("We don't publish fixed opening hours, so we'll reply as soon as we can.",))]
    two_zones = bool(facts.status_text_reader or facts.reply_by_text_reader)
    zone = f" ({facts.timezone} time)" if two_zones and facts.timezone else ""
    zoned = _one_line(facts.status_text_zoned)
    block: _Block = []
    status, status_reader = _one_line(facts.status_text), _one_line(facts.status_text_reader)
    reply_by, reply_by_reader = _one_line(facts.reply_by_text), _one_line(facts.reply_by_text_reader)
    response_time = _one_line(facts.response_time_text)
    if status:
        block.append((False, (f"Right now: {_sentence(zoned or status + zone)}",)))
    if status_reader:
        block.append((False, (f"In your time zone: {_sentence(status_reader)}",)))
    urgent = [line for line in map(_contact_line, _items(facts.urgent_contacts)) if line]
    if urgent and not facts.is_open:
        block.append((False, ("If it can't wait until we open: ", *urgent[0], *(
            part for line in urgent[1:] for part in ("; ", *line)), ".")))
    usual = f"We usually reply within {response_time}." if response_time else ""
    if reply_by:
        # the promise always names its zone: a reader abroad must not take it for their own time
        reader = f"; {reply_by_reader} your time" if reply_by_reader else ""
        suffix = f" ({facts.timezone} time{reader})" if facts.timezone else ""
        line: _Line = ("You can expect a reply by ", _Strong(reply_by), f"{suffix}.")
        block.append((False, line + ((" " + usual,) if usual else ())))
    else:
        block.append((False, (usual or "We'll reply as soon as we can.",)))
    return block


def _service_line(service: Mapping[str, Any]) -> _Line:
    """``Name: description. Usually done within 3 business days (around …). To request it, …``"""
    sentences: list[list[_Segment]] = []
    description = (_text(service.get("description")) or "").strip()
    if description:
        sentences.append(_linkify(_sentence(description)))
    turnaround, done_by = _one_line(service.get("turnaround_text")), _one_line(service.get("done_by_text"))
    if turnaround:
        around = f" (around {done_by})" if done_by else ""
        sentences.append([f"Usually done within {turnaround}{around}."])
    booking = _booking_segments(service.get("booking"), "To request it")
    if booking:
        sentences.append(booking)
    name = _one_line(service.get("name"))
    segments: list[_Segment] = [_Strong(name), ": " if sentences else ""] if name else []
    for index, sentence in enumerate(sentences):
        if index:
            segments.append(" ")
        segments += sentence
    return tuple(segments)


_NOTICE_LEADS = {"info": "Please note: ", "warning": "Important: "}


def _notice_block(facts: ReplyFacts) -> _Block:
    """The team's notices in force, a line each. Every reply carries them, the team's own wording
    too (placed before it, outside the template, so they cost its render budget nothing)."""
    block: _Block = []
    for notice in _items(facts.notices):
        message = " ".join((_text(notice.get("message")) or "").split())
        if message:
            lead = _NOTICE_LEADS.get(_text(notice.get("level")) or "", _NOTICE_LEADS["info"])
            block.append((False, (lead, *_linkify(message))))
    return block


def _default_subject(facts: ReplyFacts) -> str:
    name = _one_line(facts.team_name)
    return f"We've received your message — {name}" if name else "We've received your message"


def _default_blocks(facts: ReplyFacts) -> list[_Block]:
    name = _one_line(facts.team_name) or "the team"
    blocks: list[_Block] = [
        [(False, ("Hello,",))],
        [(False, (f"Thanks for getting in touch with {name} — we've received your message.",))],
    ]
    notices = _notice_block(facts)
    if notices:
        blocks.append(notices)
    blocks.append(_timing_block(facts))
    services = [line for line in map(_service_line, _items(facts.services)) if line]
    if services:
        blocks.append([(False, ("What we help with:",))] + [(True, line) for line in services])
    elif facts.summary and facts.summary.strip():
        blocks.append([(False, ("What we help with: ", *_linkify(_sentence(facts.summary))))])
    booking = _booking_segments(facts.booking, "To book")
    if booking:
        blocks.append([(False, tuple(booking))])
    if facts.escalation and facts.escalation.strip():
        blocks.append([(False, ("If it's urgent: ", *_linkify(_sentence(facts.escalation))))])
    contacts = [line for line in map(_contact_line, _items(facts.contacts)) if line]
    if contacts:
        blocks.append([(False, ("Other ways to reach us:",))] + [(True, line) for line in contacts])
    closing: _Block = [(False, ("Best wishes,",)), (False, (name,))]
    blocks.append(closing)
    footer: list[_Segment] = ["This is an automatic reply."]
    if facts.team_url:
        footer += [f" More about {name}: ", _Link(facts.team_url, facts.team_url)]
    blocks.append([(False, tuple(footer))])
    if facts.team_url:  # the feedback form asks the reader to sign in; their rating stays anonymous
        rate_url = facts.team_url.rstrip("/") + "/feedback"
        blocks.append([(False, ("How did we do? Once we've helped, tell us: ", _Link(rate_url, rate_url)))])
    return blocks


def _contact_line(contact: Mapping[str, Any]) -> _Line:
    kind, value = _text(contact.get("kind")) or "", (_text(contact.get("value")) or "").strip()
    if not value:
        return ()
    label = _one_line(contact.get("label")) or _CONTACT_KINDS.get(kind, kind.capitalize())
    if kind == "email" and "@" in value:
        target: _Segment = _Link(f"mailto:{value}", value)
    elif kind == "phone" and re.search(r"\d", value):
        target = _Link(tel_href(value), value)
    elif kind == "url":
        target = _Link(value, value)
    else:
        target = value
    return (f"{label}: ", target) if label else (target,)


# --- public entry points --------------------------------------------------------------------


def _render_subject(source: str, context: dict[str, Any]) -> str:
    subject = _one_line(_render(source, context))
    if not subject:
        raise _Problem("the subject renders empty")
    if len(subject) > MAX_SUBJECT_CHARS:
        raise _Problem(f"the subject is longer than {MAX_SUBJECT_CHARS} characters")
    return subject


def _render_body(source: str, context: dict[str, Any]) -> tuple[str, str]:
    lines = [line.rstrip() for line in _render(source, context).replace("\r", "").split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise _Problem("the message renders empty")
    return text + "\n", _blocks_html(_text_blocks(text))


_PARTS = {"subject": _render_subject, "body": _render_body}


def render_auto_reply(facts: ReplyFacts, template: dict | None = None) -> AutoReply:
    """The reply to send now. ``template`` is the team's optional ``{"subject", "body"}``.

    Each part the team wrote is used when it renders; a part that fails (syntax, sandbox,
    budget, size) falls back to the default and the reason goes to ``template_error``.
    Never raises for any template input.
    """
    blocks = _default_blocks(facts)
    rendered: dict[str, Any] = {
        "subject": _default_subject(facts),
        "body": (_blocks_text(blocks), _blocks_html(blocks)),
    }
    used, errors = False, []
    if template is not None and not isinstance(template, Mapping):
        errors.append("the template must be an object with 'subject' and 'body'")
        template = None
    context: dict[str, Any] | None = None
    body_from_team = False
    for part, render in _PARTS.items():
        source = template.get(part) if template else None
        if source is None or (isinstance(source, str) and not source.strip()):
            continue
        try:
            if not isinstance(source, str):
                raise _Problem("must be text")
            context = context or template_context(facts)
            rendered[part] = render(source, context)
            used = True
            body_from_team = body_from_team or part == "body"
        except Exception as exc:  # any failure of the team's part means the default part
            errors.append(f"{part}: {_describe(exc)}")
    text, html = rendered["body"]
    notices = _notice_block(facts) if body_from_team else []
    if notices:
        text, html = _blocks_text([notices]) + "\n" + text, _blocks_html([notices]) + html
    return AutoReply(
        subject=rendered["subject"],
        text=text,
        html=html,
        template_used="team" if used else "default",
        template_error="; ".join(errors) or None,
    )


SAMPLE_FACTS = ReplyFacts(
    team_name="Payroll",
    team_slug="payroll",
    team_url="https://directory.example/teams/payroll",
    summary="Salaries, payslips, tax codes and expense reimbursement.",
    is_open=True,
    hours_published=True,
    status_text="Open until 17:30",
    status_text_reader="Open until 18:30",
    reply_by_text="Tue 26 Nov at 11:00",
    reply_by_text_reader="Tue 26 Nov at 12:00",
    response_time_text="4 business hours",
    services=[
        {
            "name": "Payslip corrections",
            "description": "Wrong amount, missing overtime.",
            "turnaround_text": "3 business days",
            "done_by_text": "Fri 29 Nov at 11:00",
            "booking": {"method": "form", "url": "https://intranet.example/forms/payroll",
                        "instructions": "Attach your payslip."},
        },
        {"name": "Tax code questions", "description": None, "turnaround_text": None,
         "done_by_text": None, "booking": None},
    ],
    booking={"method": "form", "url": "https://intranet.example/forms/payroll",
             "instructions": "Use the form; attach your payslip."},
    escalation="Ask for the Payroll manager via the team mailbox, subject 'Escalation'.",
    contacts=[
        {"kind": "email", "value": "payroll@example.com", "label": "Team mailbox"},
        {"kind": "chat", "value": "#payroll-help", "label": None},
    ],
    timezone="Europe/London",
)  # fmt: skip
"""Representative facts, for previews and trial renders in the template editor."""

_SPARSE_FACTS = ReplyFacts(
    team_name="Payroll", team_slug="payroll", team_url="https://directory.example/teams/payroll",
    summary=None, is_open=False, hours_published=False, status_text="Hours not published",
    status_text_reader=None, reply_by_text=None, reply_by_text_reader=None,
    response_time_text=None, services=[], booking=None, escalation=None, contacts=[],
    timezone="Europe/London",
)  # fmt: skip


def _worst_facts() -> ReplyFacts:
    """The costliest team a template can meet: as many services and contacts as a team may have
    (CONTRACT limits: 100 services, 50 contacts), every text given, the reader in another zone,
    and the whole just within the size a render accepts (``_MAX_VALUE``). A template's cost grows
    with these, so one that fits the save budget here fits the render budget for any team."""
    booking = {"method": "form", "url": "https://intranet.example/forms/" + "b" * 60,
               "instructions": "Use the form and attach what you have. " * 3}
    services = [{"name": f"Service {n}: " + "s" * 40, "description": "Wrong amount, missing overtime. " * 12,
                 "turnaround_text": "3 business days", "done_by_text": "Fri 29 Nov at 11:00", "booking": booking}
                for n in range(100)]
    contacts = [{"kind": "email", "value": f"team{n}@example.com", "label": "Team mailbox"} for n in range(50)]
    return replace(
        SAMPLE_FACTS, summary="Salaries, payslips, tax codes and expense reimbursement. " * 5,
        status_text_zoned="Open until 17:30 London time", services=services, contacts=contacts,
        urgent_contacts=contacts[:10], booking=booking, escalation="Ask for the manager via the mailbox. " * 10,
    )


_WORST_FACTS = _worst_facts()


_TRIALS = [(SAMPLE_FACTS, ""), (_SPARSE_FACTS, " (for a team with no hours, services or booking)"),
           (_WORST_FACTS, " (for a team with 100 services and 50 contacts)")]
# Outcomes of the standard trials by part and source: an import of many teams sharing a template
# tries it once. Bounded, and cleared whole when full.
_TRIED: dict[tuple[str, str], tuple[str, ...]] = {}
_TRIED_MAX = 256


def check_template(template: dict, facts: ReplyFacts | None = None) -> dict[str, list[str]]:
    """Field errors for the template editor and API validation; empty when usable.

    Checks size, syntax, unknown names, and trial-renders against ``facts`` (the team's own,
    when the caller has them), ``SAMPLE_FACTS``, a team with no hours, services or booking, and
    the largest team (``_WORST_FACTS``), so that a saved template keeps working when the team's
    details change; each trial must fit ``_SAVE_BUDGET``, half the budget of a real render.
    """
    if not isinstance(template, Mapping):
        return {"_schema": ["must be an object with 'subject' and 'body'"]}
    errors: dict[str, list[str]] = {}
    for part in _PARTS:
        source = template.get(part)
        if source is None:
            continue
        if not isinstance(source, str):
            errors[part] = ["must be text"]
            continue
        if not source.strip():
            continue
        if facts is not None:
            problems = _trial_problems(part, source, [(facts, ""), *_TRIALS])
        elif (part, source) in _TRIED:
            problems = list(_TRIED[(part, source)])
        else:
            problems = _trial_problems(part, source, _TRIALS)
            # A slow moment of the machine is not remembered as the template's fault.
            if not any("takes too long" in problem for problem in problems):
                if len(_TRIED) >= _TRIED_MAX:
                    _TRIED.clear()
                _TRIED[(part, source)] = tuple(problems)
        if problems:
            errors[part] = problems
    return errors


def _trial_problems(part: str, source: str, trials: list[tuple[ReplyFacts, str]]) -> list[str]:
    render = _PARTS[part]
    problems: list[str] = []
    seen: set[str] = set()
    for trial_facts, situation in trials:
        units = _UNITS.set(_SAVE_BUDGET)
        try:
            render(source, template_context(trial_facts))
        except Exception as exc:  # every failure is a message for the owner
            message = _describe(exc)
            empty_when_sparse = situation and isinstance(exc, _Problem) and "renders empty" in message
            # The largest team is tried for cost alone: that its reply outgrows a limit
            # says nothing about this team's, and falls back cheaply if it ever happens.
            beside_the_point = trial_facts is _WORST_FACTS and not isinstance(exc, (_TooCostly, RecursionError))
            if message not in seen and not empty_when_sparse and not beside_the_point:
                seen.add(message)
                problems.append(message + situation)
        finally:
            _UNITS.reset(units)
    return problems
