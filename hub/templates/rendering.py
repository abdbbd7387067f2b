"""Checking a template when it is saved and rendering it for one recipient.

`validate` refuses at save time what would fail at send time: syntax errors, variables
that do not exist in `VARIABLE_MODEL` (``{{ contact.nmae }}``), internals
(``__class__``), tags that reach outside the template (``include``, ``import``,
``extends``) or switch escaping off. `compile_template` checks and compiles once;
`CompiledTemplate.render` fills it for one recipient inside the sandbox's budget and
never prints a blank for a missing value: it raises a `TemplateError` naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from types import TracebackType
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2 import Template as JinjaTemplate
from jinja2.exceptions import SecurityError
from markupsafe import escape

from hub.errors import TemplateError
from hub.templates.html_text import MARK, html_to_text, text_skeleton
from hub.templates.sandbox import (
    MAX_OUTPUT_CHARS,
    MAX_SOURCE_CHARS,
    LimitExceeded,
    Running,
    SandboxEnvironment,
    instrument,
)
from hub.templates.template import (
    EmailTemplate,
    Part,
    Rendered,
    RenderedEmail,
    RenderedSms,
    SmsTemplate,
    Template,
)
from hub.templates.variables import CUSTOM, VARIABLE_MODEL, TemplateVariables

#: Names a template may use besides the variable model.
GLOBALS = frozenset({"range"})
#: Tags refused: they reach other templates or switch autoescaping off.
_REFUSED_NODES: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.Extends, "extends"),
    (nodes.Include, "include"),
    (nodes.Import, "import"),
    (nodes.FromImport, "from … import"),
    (nodes.Block, "block"),
    (nodes.ScopedEvalContextModifier, "autoescape"),
    (nodes.EvalContextModifier, "autoescape"),
)

_HTML_ENV = SandboxEnvironment(autoescape=True)
_TEXT_ENV = SandboxEnvironment(autoescape=False)


def _environment(part: Part) -> SandboxEnvironment:
    return _HTML_ENV if part is Part.HTML else _TEXT_ENV


def _filename(part: Part) -> str:
    return f"<template {part.value}>"


def _refusals(part: Part, tree: nodes.Template) -> Iterator[TemplateError]:
    """What the parsed part uses that it may not, in source order."""
    for kind, tag in _REFUSED_NODES:
        for node in tree.find_all(kind):
            yield TemplateError(f"the {tag!r} tag is not allowed", part=part, line=node.lineno)
    for name in tree.find_all(nodes.Name):
        if name.ctx in ("store", "param") and (name.name in VARIABLE_MODEL or name.name in GLOBALS):
            yield TemplateError(f"{name.name!r} cannot be assigned", part=part, line=name.lineno)
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        if node.name.startswith("_"):
            yield TemplateError(f"no filter or test {node.name!r}", part=part, line=node.lineno)
    try:
        # `self` (the template object) is always declared by Jinja; nothing here needs it.
        undeclared = (meta.find_undeclared_variables(tree) | {"self"}) - GLOBALS
    except TemplateSyntaxError as exc:  # an unknown filter or test, found by the code generator
        yield TemplateError(exc.message or "error", part=part, line=exc.lineno)
        return
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name in undeclared and name.name not in VARIABLE_MODEL:
            known = ", ".join(sorted(VARIABLE_MODEL))
            yield TemplateError(
                f"unknown variable {name.name!r} (known: {known})", part=part, line=name.lineno
            )
            undeclared.discard(name.name)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            yield from _member_problems(part, node)


def _member(node: nodes.Getattr | nodes.Getitem) -> str | None:
    """The name read by ``x.name`` or ``x['name']`` (None for a computed key)."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _member_problems(part: Part, node: nodes.Getattr | nodes.Getitem) -> Iterator[TemplateError]:
    member = _member(node)
    if member is None:
        return
    if member.startswith("_"):
        yield TemplateError(f"{member!r}: internals are not accessible", part=part, line=node.lineno)
        return
    owner = node.node
    if isinstance(owner, nodes.Name) and owner.name in VARIABLE_MODEL:
        allowed = VARIABLE_MODEL[owner.name]
        if member not in allowed:
            yield TemplateError(
                f"{owner.name}.{member} does not exist (known: {', '.join(sorted(allowed))})",
                part=part,
                line=node.lineno,
            )


def check_part(part: Part, source: str) -> list[TemplateError]:
    """Every problem of one part (empty when it may be saved)."""
    if len(source) > MAX_SOURCE_CHARS:
        return [TemplateError(f"longer than {MAX_SOURCE_CHARS} characters", part=part)]
    env = _environment(part)
    try:
        tree = env.parse(source, filename=_filename(part))
    except TemplateSyntaxError as exc:
        return [TemplateError(exc.message or "syntax error", part=part, line=exc.lineno)]
    problems = list(_refusals(part, tree))
    if not problems:
        try:
            env.compile(instrument(tree), filename=_filename(part))
        except TemplateSyntaxError as exc:
            problems.append(TemplateError(exc.message or "error", part=part, line=exc.lineno))
    return problems


def check(template: Template) -> list[TemplateError]:
    """Every problem of every part of `template`."""
    found: list[TemplateError] = []
    if isinstance(template, EmailTemplate) and not template.subject.strip():
        found.append(TemplateError("a letter needs a subject", part=Part.SUBJECT))
    for part, source in template.parts():
        found.extend(check_part(part, source))
    return found


def validate(template: Template) -> None:
    """Raise the first problem of `template` as a `TemplateError` (at save time)."""
    problems = check(template)
    if problems:
        raise problems[0]


class _Values(dict[str, Any]):
    """A variable's attributes; a missing one is a StrictUndefined that says which."""

    def __init__(self, label: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.label = label

    def __missing__(self, key: str) -> StrictUndefined:
        return StrictUndefined(hint=f"{self.label}.{key} has no value for this recipient", name=key)


#: Each variables dataclass's field names: `dataclasses.fields` walks the class each call.
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(value: object) -> tuple[str, ...]:
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))  # type: ignore[arg-type]
    return names


def _context(variables: TemplateVariables) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for name in VARIABLE_MODEL:
        value = getattr(variables, name)
        if value is None:
            context[name] = StrictUndefined(hint=f"this recipient has no {name}", name=name)
            continue
        present: dict[str, Any] = {}
        for field_name in _field_names(value):
            item = getattr(value, field_name)
            if field_name == CUSTOM:
                item = _Values(f"{name}.{CUSTOM}", item)
            if item is not None:
                present[field_name] = item
        context[name] = _Values(name, present)
    return context


def _line(tb: TracebackType | None, filename: str) -> int | None:
    """The template line of the innermost frame of `filename` in a traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _message(exc: BaseException) -> str:
    if isinstance(exc, UndefinedError):
        return exc.message or "a value is missing"
    if isinstance(exc, LimitExceeded):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    if isinstance(exc, RecursionError):
        return "macros call each other too deeply"
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True, slots=True)
class _PlainPart:
    """A part made only of text and plain lookups (``{{ contact.name }}``), filled without
    running the Jinja template: the text pieces as parsed, each lookup read through the
    part's sandbox (`getattr`/`getitem`, as the compiled template does) and printed as
    the template prints it (escaped in HTML, `str` in text).

    Only a value that is a plain `str` or `int` is printed here; anything else (a
    missing value, a markup object, a bool) and a text past the output limit give None,
    and the template runs as it always did, with its error naming the line."""

    env: SandboxEnvironment
    pieces: tuple[str | int, ...]  # text, or the index of a lookup
    lookups: tuple[Lookup, ...]

    def fill(self, context: Mapping[str, Any]) -> str | None:
        """The part for `context`, or None when it must be rendered by the template."""
        env = self.env
        shown: list[str] = []
        for name, steps in self.lookups:
            value = context.get(name)
            for is_attr, key in steps:
                if value is None or isinstance(value, Undefined):
                    return None
                value = env.getattr(value, key) if is_attr else env.getitem(value, key)
            kind = type(value)
            if kind is not str and kind is not int:
                return None
            shown.append(str(escape(value)) if env.autoescape else str(value))
        text = "".join(p if isinstance(p, str) else shown[p] for p in self.pieces)
        return None if len(text) > MAX_OUTPUT_CHARS else text


def _text_and_lookups(tree: nodes.Template) -> tuple[list[str | int], tuple[Lookup, ...]] | None:
    """A parsed part as text pieces and numbered plain lookups (each distinct lookup one
    number), when that is all it is; None for anything else (tags, filters, calls)."""
    pieces: list[str | int] = []
    lookups: dict[Lookup, int] = {}
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                pieces.append(child.data)
                continue
            lookup = _lookup(child)
            if lookup is None:
                return None
            pieces.append(lookups.setdefault(lookup, len(lookups)))
    return pieces, tuple(lookups)


def _plain_part(env: SandboxEnvironment, tree: nodes.Template) -> _PlainPart | None:
    """The part as text and plain lookups, when that is all it is (else None)."""
    found = _text_and_lookups(tree)
    return None if found is None else _PlainPart(env, tuple(found[0]), found[1])


@dataclass(frozen=True, slots=True)
class _CompiledPart:
    part: Part
    template: JinjaTemplate
    plain: _PlainPart | None = None

    def render(self, context: dict[str, Any]) -> str:
        """The part filled with `context`, within the budget."""
        if self.plain is not None:
            filled = self.plain.fill(context)
            if filled is not None:
                return filled
        chunks: list[str] = []
        size = 0
        try:
            with Running():
                for chunk in self.template.generate(context):
                    size += len(chunk)
                    if size > MAX_OUTPUT_CHARS:
                        raise LimitExceeded(
                            f"the text is longer than {MAX_OUTPUT_CHARS} characters"
                        )
                    chunks.append(chunk)
        except TemplateError:
            raise
        except Exception as exc:  # any failure of a user's template is that template's error
            line = _line(exc.__traceback__, _filename(self.part))
            raise TemplateError(_message(exc), part=self.part, line=line) from exc
        return "".join(chunks)


#: Closes a mark of `text_skeleton`.
_MARK_END = "\ue001"
_MARKED = re.compile(MARK + r"(\d+)" + _MARK_END)
#: A value that may stand in a mark's place: words separated by single spaces, nothing
#: HTML-special (so its escaped form is itself), no mark characters.
_PLAIN_VALUE = re.compile(r"[^\s<>&\"'\ue000-\ue002]+(?: [^\s<>&\"'\ue000-\ue002]+)*")

#: A plain lookup as steps: the variable's name, then (True, attribute) or (False, key).
Lookup = tuple[str, tuple[tuple[bool, Any], ...]]


def _lookup(node: nodes.Node) -> Lookup | None:
    """``contact.name``, ``contact.custom["k"]`` as steps; None for anything else (a
    filter, a call, an operator, a literal)."""
    steps: list[tuple[bool, Any]] = []
    while True:
        if isinstance(node, nodes.Name):
            return (node.name, tuple(reversed(steps))) if node.ctx == "load" else None
        if isinstance(node, nodes.Getattr):
            steps.append((True, node.attr))
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            steps.append((False, node.arg.value))
        else:
            return None
        node = node.node


@dataclass(frozen=True, slots=True)
class _DerivedText:
    """The text part of an HTML template made only of markup and plain lookups, converted
    once (`skeleton`, each distinct lookup a mark); per recipient only the lookups are
    read (through the sandbox's own `getattr`/`getitem`, as the HTML render did)."""

    skeleton: str
    lookups: tuple[Lookup, ...]

    def text(self, context: Mapping[str, Any]) -> str | None:
        """The text for `context`, or None when a value is not plain (convert the HTML)."""
        values: list[str] = []
        for name, steps in self.lookups:
            value = context.get(name)
            for is_attr, key in steps:
                if value is None:
                    return None
                value = _HTML_ENV.getattr(value, key) if is_attr else _HTML_ENV.getitem(value, key)
            if not isinstance(value, str | int) or isinstance(value, bool) or hasattr(value, "__html__"):
                return None
            shown = str(value)
            if not _PLAIN_VALUE.fullmatch(shown):
                return None
            values.append(shown)
        return _MARKED.sub(lambda m: values[int(m.group(1))], self.skeleton)


def _derived_text(source: str) -> _DerivedText | None:
    """The text part of HTML `source` made once, when its shape allows (else None)."""
    found = _text_and_lookups(_HTML_ENV.parse(source, filename=_filename(Part.HTML)))
    if found is None or not found[1]:
        return None
    pieces, lookups = found
    marked = "".join(p if isinstance(p, str) else f"{MARK}{p}{_MARK_END}" for p in pieces)
    skeleton = text_skeleton(marked)
    return None if skeleton is None else _DerivedText(skeleton, lookups)


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A checked template, compiled once, rendered for many recipients."""

    source: Template
    parts: Mapping[Part, _CompiledPart]
    derived: _DerivedText | None = None

    def render(self, variables: TemplateVariables) -> Rendered:
        """The message for one recipient; a missing value raises `TemplateError`."""
        context = _context(variables)
        texts = {part: compiled.render(context) for part, compiled in self.parts.items()}
        if isinstance(self.source, SmsTemplate):
            return RenderedSms(text=texts[Part.TEXT])
        html = texts[Part.HTML]
        if Part.TEXT in texts:
            text = texts[Part.TEXT]
        else:
            derived = None if self.derived is None else self.derived.text(context)
            text = html_to_text(html) if derived is None else derived
        # One line: a value with a line break must not start a new mail header.
        subject = " ".join(texts[Part.SUBJECT].split())
        return RenderedEmail(subject=subject, html=html, text=text)


@lru_cache(maxsize=256)
def compile_template(template: Template) -> CompiledTemplate:
    """Check `template` (raising its first problem) and compile every part."""
    validate(template)
    compiled: dict[Part, _CompiledPart] = {}
    for part, source in template.parts():
        env = _environment(part)
        plain = _plain_part(env, env.parse(source, filename=_filename(part)))
        tree = instrument(env.parse(source, filename=_filename(part)))
        code = env.compile(tree, filename=_filename(part))
        compiled[part] = _CompiledPart(
            part, env.template_class.from_code(env, code, env.make_globals(None)), plain
        )
    derived = None
    if isinstance(template, EmailTemplate) and template.text is None:
        derived = _derived_text(template.html)
    return CompiledTemplate(template, compiled, derived)


def render(template: Template, variables: TemplateVariables) -> Rendered:
    """Render `template` for one recipient (compiled once per distinct template)."""
    return compile_template(template).render(variables)
