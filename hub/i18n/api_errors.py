"""The API's error messages in the requester's language (decision 0060).

Errors are raised with an English message wherever they happen (the log's language, and
the API's answer in English). The catalogue's `[api_error]` entries give each message's
shape: the English side is the message as the code writes it with ``{placeholders}`` for
what varies, the Russian side the same message in Russian. `error_message` finds the
shape a raised message has and fills the other language's text with the same values, so
no raise site changes and the English text itself is the key, as in gettext.

A message of no known shape still gets no English in a Russian answer: the kind of error
(`[api_error_kind]`, by the answer's `code`) and the field it names. A message of the
form ``field: message`` is translated after its field (before any shape is tried, so a
placeholder never swallows a field's name), and a `ChannelError`'s ``(channel=…)`` is left
out; a `TemplateError`'s ``part, line N:`` is kept. Every message our template code
raises and the template engine's (Jinja's) common syntax errors have shapes; an engine
message with none is said as «ошибка в шаблоне: » followed by the engine's own (English)
words, so the author still learns what is wrong (decision 0081): the one place a Russian
answer may carry English. `template_problem` says a problem without its place (the
template preview lists problems with their part and line apart).

Validation problems pydantic finds are described by their kind (`[validation]`), see
`validation_problem`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

from hub.i18n.catalogue import FALLBACK, entries, normalise, text

SHAPES: Final = "api_error."
KINDS: Final = "api_error_kind."
PROBLEMS: Final = "validation."
#: ``{name}`` in a shape: what varies.
_PLACEHOLDER: Final = re.compile(r"\{(\w+)\}")
#: Placeholders whose values are codes with names of their own: placeholder → catalogue
#: table (a list, "a, b" or "a or b", is named item by item).
NAMED_VALUES: Final = {
    "thing": "thing",
    "role": "role",
    "roles": "role",
    "kind": "identity",
    "channel": "channel",
    "status": "status",
    "indicator": "indicator",
    "state": "campaign_state",
    "to": "campaign_state",
    "froms": "campaign_state",
    "what": "what",
}
#: How a list of codes is written in a message: "a, b" or "a or b".
_LIST: Final = re.compile(r", | or ")
#: ``addresses.0: …``, ``Content-Type: …``: a message nested under the field it is about.
_FIELD_PREFIX: Final = re.compile(r"(?P<field>[\w.\-\[\]]+): (?P<rest>.+)", re.DOTALL)
#: Where in a template an error is (`TemplateError`): ``html, line 3: …``.
_TEMPLATE_PLACE: Final = re.compile(r"(?P<part>\w+), line (?P<line>\d+): (?P<rest>.+)", re.DOTALL)
#: What `ChannelError` adds to its message: which channel, which id (codes, for the log).
_CHANNEL_CONTEXT: Final = re.compile(r"(?P<rest>.+) \((?:channel|id)=[^()]*\)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Shape:
    key: str
    pattern: re.Pattern[str]
    #: Characters of fixed text: more specific shapes are tried first.
    fixed: int


def _compile(english: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for found in _PLACEHOLDER.finditer(english):
        parts.append(re.escape(english[last : found.start()]))
        parts.append(f"(?P<{found.group(1)}>.*?)")
        last = found.end()
    parts.append(re.escape(english[last:]))
    return re.compile("".join(parts), re.DOTALL)


@cache
def _shapes() -> tuple[_Shape, ...]:
    shapes = []
    for key, texts in entries().items():
        english = texts[FALLBACK]
        if key.startswith(SHAPES) and isinstance(english, str):
            fixed = len(_PLACEHOLDER.sub("", english))
            shapes.append(_Shape(key, _compile(english), fixed))
    return tuple(sorted(shapes, key=lambda s: (-s.fixed, s.key)))


def shape_of(message: str) -> tuple[str, dict[str, str]] | None:
    """The catalogue key of the shape `message` has, with the values in it; None if none."""
    for shape in _shapes():
        found = shape.pattern.fullmatch(message)
        if found is not None:
            return shape.key, found.groupdict()
    return None


def _translated(lang: str, message: str) -> str | None:
    context = _CHANNEL_CONTEXT.fullmatch(message)
    if context is not None:
        return _translated(lang, context["rest"])
    place = _TEMPLATE_PLACE.fullmatch(message)
    if place is not None:
        said = _template_problem(lang, place["rest"])
        where = text(lang, "api_error_kind.template_place", part=place["part"], line=place["line"])
        return where + said
    nested = _FIELD_PREFIX.fullmatch(message)
    if nested is not None:
        rest = _translated(lang, nested["rest"])
        if rest is not None:
            return f"{nested['field']}: {rest}"
    found = shape_of(message)
    if found is not None:
        key, values = found
        return text(lang, key, **{k: _named(lang, k, v) for k, v in values.items()})
    return None


def _template_problem(lang: str, message: str) -> str:
    # the engine's own words when the message has no shape, rather than no detail at all
    said = _translated(lang, message)
    if said is None:
        said = text(lang, "api_error_kind.template_engine", said=message)
    return said


def template_problem(locale: str, message: str) -> str:
    """What is wrong with a template (a `TemplateError`'s message without its part and
    line) in `locale`: by its shape, else «ошибка в шаблоне: » and the engine's words."""
    lang = normalise(locale)
    if lang == FALLBACK:
        return message
    return _template_problem(lang, message)


def _named(lang: str, placeholder: str, value: str) -> str:
    table = NAMED_VALUES.get(placeholder)
    if table is None:
        return value
    return ", ".join(text(lang, f"{table}.{item}", item) for item in _LIST.split(value))


def error_message(locale: str, code: str, message: str, field: str | None = None) -> str:
    """`message` (raised in English) in `locale`; its kind and field when its shape is unknown."""
    lang = normalise(locale)
    if lang == FALLBACK:
        return message
    translated = _translated(lang, message)
    if translated is not None:
        return translated
    return kind_message(lang, code, field)


def said_in(locale: str, message: str) -> str:
    """`message` (raised in English) in `locale` when its shape is known, else as raised: for
    the command line, whose one error line keeps its detail rather than a general meaning."""
    lang = normalise(locale)
    if lang == FALLBACK:
        return message
    return _translated(lang, message) or message


def kind_message(locale: str, code: str, field: str | None = None) -> str:
    """What an error of `code` means in general, naming `field` when there is one."""
    kind = text(locale, f"{KINDS}{code}", text(locale, f"{KINDS}other"))
    return kind + (text(locale, f"{KINDS}where", field=field) if field else "")


def validation_problem(locale: str, kind: str, context: Mapping[str, object]) -> str:
    """What is wrong with a value pydantic refused, by the kind of problem ("missing",
    "string_too_long", …) with its context (``max_length``, ``expected``, …) in `locale`;
    a validator's own message (``value_error``) by its shape."""
    lang = normalise(locale)
    if kind == "value_error" and "error" in context:
        nested = _translated(lang, str(context["error"]))
        if nested is not None:
            return nested
    values = {name: _shown(value) for name, value in context.items()}
    return text(lang, f"{PROBLEMS}{kind}", text(lang, f"{PROBLEMS}other"), **values)


def _shown(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    return str(value)
