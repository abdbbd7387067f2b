"""The hardened Jinja2 environment every template renders in, and its limits.

Jinja2's `ImmutableSandboxedEnvironment` already refuses internals (``__class__``,
``__globals__``) and changes to lists and dicts. What it leaves open is making the
machine work or allocate without end, so each render runs under a `Budget`:

- every loop iteration, call and intercepted operator is a step (`MAX_STEPS`), and the
  render stops past `MAX_RENDER_SECONDS` of wall time, checked at every step;
- every piece of text produced, including inside macros, counts towards `MAX_OUTPUT_CHARS`
  (a macro's text printed twice counts twice), so nothing grows past it in memory;
- `range` refuses more than `MAX_RANGE` numbers; ``*``, ``+``, ``**``, ``%`` and ``~``
  refuse results longer than `MAX_VALUE_CHARS` (checked *before* computing them);
- only a list of filters and string methods that cannot multiply their input is offered
  (no ``center(10**9)``, ``format``, ``lipsum`` …); the ``~`` operator, loops and printed
  text are routed through guards by rewriting the parsed template (`instrument`);
- Python's own recursion limit ends a recursive macro (reported as too deep).

Every refusal is a `LimitExceeded`; the renderer turns it into a `TemplateError` with the
part and the line.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import Context, LoopContext, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: Text produced by one part's render, in characters (1 MiB of ASCII).
MAX_OUTPUT_CHARS = 1 << 20
#: The longest string or list an operator may build.
MAX_VALUE_CHARS = 1 << 20
#: Loop iterations + calls + intercepted operators in one part's render.
MAX_STEPS = 100_000
#: Wall time of one part's render.
MAX_RENDER_SECONDS = 1.0
#: The most numbers `range()` gives.
MAX_RANGE = 10_000
#: The largest exponent ``**`` accepts (10**100 is still a small number).
MAX_EXPONENT = 100
#: The longest template part accepted at all.
MAX_SOURCE_CHARS = 256 * 1024

#: Filters offered to templates: none of them can make a result much larger than its input.
SAFE_FILTERS = frozenset(
    {
        "abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "groupby", "int", "items", "join", "last", "length", "list",
        "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round",
        "safe", "select", "selectattr", "sort", "string", "striptags", "title",
        "tojson", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
    }
)  # fmt: skip
#: Methods of strings and mappings a template may call (others, like ``center``, can
#: allocate at will or are of no use in a letter).
SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "capitalize", "casefold", "count", "endswith", "find", "isalpha", "isdigit",
            "islower", "isspace", "istitle", "isupper", "lower", "lstrip", "removeprefix",
            "removesuffix", "replace", "rfind", "rsplit", "rstrip", "split", "startswith",
            "strip", "swapcase", "title", "upper",
        }
    ),
    dict: frozenset({"get", "items", "keys", "values"}),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
    LoopContext: frozenset({"cycle", "changed"}),
}  # fmt: skip

#: Names the guards are registered under; a template cannot reach them by these names
#: (they start with an underscore, which validation refuses in filter names too).
ITER_GUARD = "_th_iter"
OUTPUT_GUARD = "_th_out"
CONCAT_GUARD = "_th_concat"


class LimitExceeded(Exception):
    """A render went past one of the limits; the message says which."""


@dataclass(slots=True)
class Budget:
    """What one part's render may still spend."""

    steps: int = MAX_STEPS
    chars: int = MAX_OUTPUT_CHARS
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_RENDER_SECONDS)

    def step(self, count: int = 1) -> None:
        """Spend `count` steps; refuse when the steps or the time are used up."""
        self.steps -= count
        if self.steps < 0:
            raise LimitExceeded(f"the template does more than {MAX_STEPS} steps (loops, calls)")
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"the template takes longer than {MAX_RENDER_SECONDS:g} s")

    def produce(self, count: int) -> None:
        """Account for `count` characters of text produced."""
        self.chars -= count
        if self.chars < 0:
            raise LimitExceeded(f"the text is longer than {MAX_OUTPUT_CHARS} characters")


_BUDGET: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


def budget() -> Budget:
    """The budget of the render running now."""
    current = _BUDGET.get()
    if current is None:
        raise LimitExceeded("a template was rendered outside a budget")
    return current


class Running:
    """``with Running():`` gives the render inside a fresh `Budget`."""

    def __init__(self) -> None:
        self.budget = Budget()
        self._token: Any = None

    def __enter__(self) -> Budget:
        self._token = _BUDGET.set(self.budget)
        return self.budget

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)


def weight(value: Any, limit: int = MAX_VALUE_CHARS) -> int:
    """How much text `value` stands for: string lengths, 1 per other item, walked through
    lists, tuples and dicts (a list of 10,000 references to one long string is heavy).
    Stops counting once past `limit`, so the walk itself is bounded."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, list | tuple):
            total += 1
            stack.extend(item)
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            total += 1
    return total


def _check_size(size: int) -> None:
    if size > MAX_VALUE_CHARS:
        raise LimitExceeded(f"a value would be longer than {MAX_VALUE_CHARS} characters")


def _mul(left: Any, right: Any) -> Any:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int):
            _check_size(weight(seq) * max(times, 0))
    return left * right


def _add(left: Any, right: Any) -> Any:
    if isinstance(left, str | bytes | list | tuple):
        _check_size(weight(left) + weight(right))
    return left + right


def _pow(left: Any, right: Any) -> Any:
    if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
        raise LimitExceeded(f"exponents above {MAX_EXPONENT} are not allowed")
    # 10 ** 100 is fine; (10 ** 100) ** 100 would have 10,000 digits.
    numbers = isinstance(left, int | float) and isinstance(right, int | float)
    if numbers and right > 0 and right * math.log10(abs(left) + 1) > MAX_EXPONENT * 4:
        raise LimitExceeded("the power is too large")
    return left**right


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        # "%999999999s" % x allocates what it likes; templates print values directly.
        raise LimitExceeded("string formatting with % is not allowed")
    return left % right


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": _mul,
    "+": _add,
    "**": _pow,
    "%": _mod,
    "//": operator.floordiv,
}


def safe_range(*args: int) -> range:
    """`range` for templates: at most `MAX_RANGE` numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range() gives at most {MAX_RANGE} numbers")
    return numbers


@pass_context
def _iter_guard(_context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    spend = budget()
    for item in iterable:
        spend.step()
        yield item


@pass_context
def _output_guard(_context: Context, value: Any) -> Any:
    spend = budget()
    if not isinstance(value, str):
        spend.produce(weight(value, spend.chars))
    spend.produce(len(str(value)))
    return value


@pass_context
def _concat_guard(context: Context, values: list[Any]) -> str:
    _check_size(weight(values))
    join = markup_join if context.eval_ctx.autoescape else str_join
    return join(values)


def _weighed(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` (a Jinja filter) refusing an input heavier than `MAX_VALUE_CHARS`."""
    takes_context = hasattr(func, "jinja_pass_arg")

    @wraps(func)
    def weighed(*args: Any, **kwargs: Any) -> Any:
        value = args[1] if takes_context else args[0]
        _check_size(weight(value))
        return func(*args, **kwargs)

    return weighed


@pass_context
def _guarded_join(
    context: Context, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(context.environment, attribute), items))
    _check_size(weight(items) + len(str(d)) * max(len(items) - 1, 0))
    return str(FILTERS["join"](context.eval_ctx, items, d))


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the budget's guards wired into calls and operators."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            autoescape=autoescape,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=0,
        )
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = {name: _weighed(FILTERS[name]) for name in SAFE_FILTERS}
        self.filters[ITER_GUARD] = _iter_guard
        self.filters[OUTPUT_GUARD] = _output_guard
        self.filters[CONCAT_GUARD] = _concat_guard
        self.filters["replace"] = _guarded_replace
        self.filters["join"] = _guarded_join

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget().step()
        return _BINOPS[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget().step()
        # str.format comes wrapped by the sandbox; judge the method it wraps.
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        name = getattr(method, "__name__", "")
        if owner is not None:
            allowed = next(
                (names for kind, names in SAFE_METHODS.items() if isinstance(owner, kind)), None
            )
            if allowed is None or name not in allowed:
                raise LimitExceeded(f"calling {type(owner).__name__}.{name}() is not allowed")
            if name == "replace" and isinstance(owner, str) and len(args) >= 2:
                _check_replace(owner, args[0], args[1])
        result = super().call(__context, __obj, *args, **kwargs)
        _check_size(weight(result))
        return result


def _check_replace(text: str, old: Any, new: Any) -> None:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        hits = text.count(old) if old else len(text) + 1
        _check_size(len(text) + hits * (len(new) - len(old)))


@pass_context
def _guarded_replace(
    context: Context, text: Any, old: str, new: str, count: int | None = None
) -> Any:
    _check_replace(str(text), old, new)
    return FILTERS["replace"](context.eval_ctx, text, old, new, count)


def instrument(template: nodes.Template) -> nodes.Template:
    """Route loops, printed text and ``~`` of a parsed template through the guards."""
    for loop in template.find_all(nodes.For):
        loop.iter = _filter(loop.iter, ITER_GUARD, loop.lineno)
    for concat in list(template.find_all(nodes.Concat)):
        joined = nodes.List(list(concat.nodes), lineno=concat.lineno)
        concat.nodes = [_filter(joined, CONCAT_GUARD, concat.lineno)]
    for output in template.find_all(nodes.Output):
        output.nodes = [
            _filter(
                nodes.MarkSafeIfAutoescape(child, lineno=child.lineno)
                if isinstance(child, nodes.TemplateData)
                else child,
                OUTPUT_GUARD,
                child.lineno,
            )
            for child in output.nodes
        ]
    return template


def _filter(node: nodes.Node, name: str, lineno: int) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=lineno)


__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_RANGE",
    "MAX_RENDER_SECONDS",
    "MAX_STEPS",
    "MAX_VALUE_CHARS",
    "Budget",
    "LimitExceeded",
    "Running",
    "SandboxEnvironment",
    "instrument",
]
