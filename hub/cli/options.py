"""Options of the commands that send a template to a segment, written once.

`campaign create`, `campaign create-round` and `trigger create` name a template version
(`template_options`); the first two also pick their contacts (`segment_options`, read
with `segment_filter`). Each option keeps one name, one help and one default wherever
it appears.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from hub.cli.common import ID
from hub.errors import ValidationError


def template_options(template_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--template ID` (described by `template_help`) and `--version ID`."""

    def add(func: Callable[..., Any]) -> Callable[..., Any]:
        # click lists options in the reverse order they are added
        func = click.option(
            "--version", "template_version", type=ID, default=None, help="Default: the newest."
        )(func)
        return click.option(
            "--template", "template_id", type=ID, required=True, help=template_help
        )(func)

    return add


def segment_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--segment ID` or `--filter JSON`: a saved segment or one written inline."""
    func = click.option(
        "--filter", "inline", default=None, help="An inline segment filter (JSON)."
    )(func)
    return click.option(
        "--segment", "segment_id", type=ID, default=None, help="A saved segment's id."
    )(func)


def segment_filter(inline: str | None) -> dict[str, Any] | None:
    """The `--filter` as read: its JSON object, or None when it was not given."""
    return None if inline is None else read_filter(inline)


def read_filter(text: str) -> dict[str, Any]:
    """A segment filter typed as JSON: the object it is (`ValidationError` if not one)."""
    return json_object(text, "--filter")


def json_object(text: str, option: str) -> dict[str, Any]:
    """`text` given to `option` as the JSON object it must be; a `ValidationError` saying
    where it is not (never a traceback, however deep its nesting)."""
    field = option.lstrip("-")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{option} is not JSON (line {exc.lineno}, column {exc.colno})", field=field
        ) from exc
    except RecursionError as exc:
        raise ValidationError(f"{option} is nested too deeply", field=field) from exc
    if not isinstance(value, dict):
        raise ValidationError(f"{option} is not a JSON object", field=field)
    return value
