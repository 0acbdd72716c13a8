"""The sandbox team templates run in: Jinja's immutable sandbox, narrowed and put on a budget.

Team templates are written by team owners and run on every incoming message, so they are
treated as untrusted. Everything that decides what a template may do, and what it may cost,
is in this module:

* Templates see only the variables they are given (``TEMPLATE_VARIABLES`` names them; other
  names are refused before running), the filters in ``TEMPLATE_FILTERS``, harmless read-only
  methods of str/dict/list, and ``range``/``dict``/``namespace``/``cycler``/``joiner``. Private
  and internal attributes raise ``Refused`` instead of rendering empty; a missing key or
  attribute of a known variable renders as empty text.
* Every loop iteration, call, filter, produced character and element of a value walked is
  charged to one work budget; values may not grow past a size limit, ``range`` past
  ``MAX_RANGE`` items, a call past 32 arguments, integers past 64 bits; the output stops at
  ``MAX_OUTPUT_CHARS``; a deadline backs all of this up.
* Costs Jinja does not expose (loop bodies, literals, comparisons, ``~``) are charged by
  rewriting the parsed template (``_Instrument``) before it is compiled.

``render`` raises on any of these; callers turn the exception into words with ``describe``.
"""

from __future__ import annotations

import functools
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator, MappingView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

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
from markupsafe import Markup

from directory.autoreply.variables import TEMPLATE_VARIABLES

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_TEMPLATE_CHARS",
    "SAVE_BUDGET",
    "TEMPLATE_FILTERS",
    "Refused",
    "TemplateProblem",
    "TooCostly",
    "describe",
    "render",
    "work_budget",
]

MAX_TEMPLATE_CHARS = 10_000
MAX_OUTPUT_CHARS = 20_000

# Budget of one template render. A unit is about one character or a quarter element handled (well
# under a microsecond of work); a loop iteration, call, filter or operator costs _STEP more. A
# saved template must fit SAVE_BUDGET on the largest team (`check.WORST_FACTS`), so it renders within
# _WORK_BUDGET for any team, with room for branches the trials did not take; a template saved
# before this limit, or one that does much more for some team, falls back to the default after
# _WORK_BUDGET units (about a tenth of a second; the old 1,000,000 allowed one and a half).
_WORK_BUDGET = 240_000
SAVE_BUDGET = 120_000
_STEP = 20
_DEADLINE_SECONDS = 1.0
# A call's arguments are each looked at (and spread arguments built) before it can be charged:
# ``loop.cycle(*range(900))`` in a loop cost seconds within the old budget.
_MAX_ARGS = 32
# Largest value a template may build, in characters of its text form (shared parts counted
# each time), so that printing, comparing or hashing any value stays cheap.
_MAX_VALUE = 100_000
_MAX_INT_BITS = 64

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


# --- refusals and the work budget -----------------------------------------------------------


class Refused(SecurityError):
    """The sandbox stopped a template (unsafe access or too much work)."""


class TooCostly(Refused):
    """The template ran out of its work budget (or time)."""


class TemplateProblem(TemplateError):
    """A template that cannot be used as written (too long, unknown name, renders nothing)."""


@dataclass
class _Budget:
    left: int = _WORK_BUDGET
    deadline: float = field(default_factory=lambda: time.monotonic() + _DEADLINE_SECONDS)


_BUDGET: ContextVar[_Budget | None] = ContextVar("autoreply_budget", default=None)
_UNITS: ContextVar[int] = ContextVar("autoreply_units", default=_WORK_BUDGET)  # per render, as set by the caller


@contextmanager
def work_budget(units: int) -> Iterator[None]:
    """Renders within the block get ``units`` each instead of the full budget (save-time trials
    use ``SAVE_BUDGET``, so that what is saved renders with room to spare)."""
    token = _UNITS.set(units)
    try:
        yield
    finally:
        _UNITS.reset(token)


def _charge(units: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        raise Refused("team templates only run inside render_auto_reply")
    budget.left -= units
    if budget.left < 0:
        raise TooCostly("the template does too much work (too many loops or too much text)")
    if time.monotonic() > budget.deadline:
        raise TooCostly("the template takes too long to render")


def _size(value: Any) -> int:
    """Cheap cost of handling a value once (no deep walk)."""
    if isinstance(value, (str, list, tuple, dict, set, frozenset, range)):
        return len(value)
    return 1


def _weight(value: Any) -> int:
    """Approximate length of a value's text form, shared parts counted each time.

    Raises when it passes _MAX_VALUE, stopping early, so checking costs at most that much; the
    elements walked are charged, since the walk is work the template made happen. The common
    kinds are sized inline, without a call each, because every value output is walked.
    """
    total = walked = 0
    pending = [value]
    while pending:
        item = pending.pop()
        walked += 1
        if walked & 255 == 0:
            _charge(1024)  # four units an element: a step of this walk is a few Python operations
        kind = type(item)
        if kind is str:  # exact types first, without isinstance's walk of the class tree
            total += len(item) + 2
        elif kind is int and -(2**_MAX_INT_BITS) < item < 2**_MAX_INT_BITS:
            total += item.bit_length() // 3 + 2
        elif kind is dict or kind is list or kind is tuple:
            total += 2 + 2 * len(item)
            if total <= _MAX_VALUE:
                pending.extend(item.items() if kind is dict else item)
        else:
            weight, inner = _uncommon_weight(item)
            total += weight
            if inner is not None and total <= _MAX_VALUE:
                pending.extend(inner)
        if total > _MAX_VALUE:
            raise Refused(f"a value grew past {_MAX_VALUE:,} characters")
    _charge(4 * (walked & 255))
    return total


def _uncommon_weight(item: Any) -> tuple[int, Iterable[Any] | None]:
    """The weight of one value other than a plain str, small int, dict, list or tuple, and what
    it holds, if anything, to be weighed in turn."""
    if isinstance(item, str):
        return len(item) + 2, None
    if isinstance(item, bool) or item is None:
        return 5, None
    if isinstance(item, int):
        if item.bit_length() > _MAX_INT_BITS:
            raise Refused(f"a number grew past {_MAX_INT_BITS} bits")
        return item.bit_length() // 3 + 2, None
    if isinstance(item, float):
        return 24, None
    if isinstance(item, Namespace):
        return 0, (getattr(item, "_Namespace__attrs", None),)
    if isinstance(item, range):
        return 2 + 8 * len(item), None
    if isinstance(item, (dict, list, tuple, set, frozenset, MappingView)):
        return 2 + 2 * len(item), item.items() if isinstance(item, dict) else item
    return 8, None


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
                raise Refused(f"a list grew past {_MAX_VALUE:,} items")
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
        raise Refused(f"range() is limited to {MAX_RANGE:,} items")
    return numbers


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(fmt: Any, *_args: Any, **_kwargs: Any) -> None:
    """Refuse ``'%999999999d' % 1``-style widths before Python allocates them."""
    for match in _PRINTF_SPEC.finditer(str(fmt)):
        for number in match.groups():
            if number == "*" or (number and (len(number) > 6 or int(number) > _MAX_VALUE)):
                raise Refused("format widths are limited")


def _check_replace(text: Any, old: Any = "", new: Any = "", count: Any = -1) -> None:
    """Refuse replacements whose result would pass the value limit (``s|replace('', s)``)."""
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > _MAX_VALUE:
        raise Refused(f"a value would grow past {_MAX_VALUE:,} characters")


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    if _size(value) * len(str(d)) > _MAX_VALUE:
        raise Refused(f"a value would grow past {_MAX_VALUE:,} characters")


def _check_wordwrap(
    s: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> None:
    text = str(s)
    if not isinstance(width, int) or not 1 <= width <= _MAX_VALUE:
        raise Refused(f"wordwrap width must be between 1 and {_MAX_VALUE:,}")
    lines = len(text) // width + text.count("\n") + 1
    if len(text) + lines * len(str(wrapstring or "\n")) > _MAX_VALUE:
        raise Refused(f"a value would grow past {_MAX_VALUE:,} characters")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        repeated = isinstance(times, int) and times > 0 and isinstance(seq, (str, list, tuple))
        if repeated and _weight(seq) * times > _MAX_VALUE:
            raise Refused(f"a value would grow past {_MAX_VALUE:,} characters")
    both_ints = isinstance(left, int) and isinstance(right, int)
    if both_ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
        raise Refused(f"a number would grow past {_MAX_INT_BITS} bits")


def _check_power(base: Any, exponent: Any) -> None:
    grows = isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1
    if grows and base.bit_length() * exponent > _MAX_INT_BITS:
        raise Refused(f"a number would grow past {_MAX_INT_BITS} bits")


def _check_tojson(value: Any, indent: Any = None) -> None:
    width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    if width > 8:
        raise Refused("tojson indent is limited to 8")


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
        raise Refused(f"a call may pass at most {_MAX_ARGS} arguments")


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
            raise Refused(f"a value grew past {_MAX_VALUE:,} characters")
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
        raise Refused(f"access to {attribute!r} of {type(obj).__name__} is not allowed")

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
        raise TemplateProblem("; ".join(problems))
    ast = _Instrument().visit(ast)
    ast.set_environment(env)
    return env.from_string(ast)


def render(source: str, context: dict[str, Any]) -> str:
    """Render a team template under a fresh budget, stopping past MAX_OUTPUT_CHARS."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(f"the template is longer than {MAX_TEMPLATE_CHARS:,} characters")
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
                    raise Refused(f"the output is longer than {MAX_OUTPUT_CHARS:,} characters")
                chunks.append(chunk)
        finally:
            stream.close()
        return "".join(chunks)
    finally:
        _BUDGET.reset(token)


def describe(exc: BaseException) -> str:
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
