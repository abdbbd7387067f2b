"""The options written once in `hub.cli.options`: alike in every command that takes them,
and `--filter` read the same way."""

from __future__ import annotations

from typing import Any

import click
import pytest

from hub.cli.campaign_cmd import campaign
from hub.cli.options import json_object, read_filter, segment_filter
from hub.cli.trigger_cmd import trigger
from hub.errors import ValidationError
from hub.i18n.api_errors import said_in

CAMPAIGN = campaign.commands["create"]
ROUND = campaign.commands["create-round"]
TRIGGER = trigger.commands["create"]


def option(command: click.Command, name: str) -> dict[str, Any]:
    """What `touchhub … --help` and the parser know of one option of `command`."""
    found = [p.to_info_dict() for p in command.params if name in p.opts]
    assert len(found) == 1, (command.name, name)
    return found[0]


@pytest.mark.parametrize(
    ("name", "commands"),
    [
        ("--version", [CAMPAIGN, ROUND, TRIGGER]),
        ("--segment", [CAMPAIGN, ROUND]),
        ("--filter", [CAMPAIGN, ROUND]),
    ],
)
def test_a_shared_option_is_the_same_in_every_command(
    name: str, commands: list[click.Command]
) -> None:
    first, *others = [option(c, name) for c in commands]
    assert first["help"]
    assert all(other == first for other in others)


def test_the_template_is_described_by_each_command() -> None:
    helps = [option(c, "--template")["help"] for c in (CAMPAIGN, ROUND, TRIGGER)]
    assert helps == ["Template id.", "The script's template.", "Template id."]
    assert all(option(c, "--template")["required"] for c in (CAMPAIGN, ROUND, TRIGGER))


def test_the_options_keep_their_order_in_the_help() -> None:
    names = [p.opts[0] for p in ROUND.params]
    assert names[:5] == ["--name", "--template", "--version", "--segment", "--filter"]


def test_the_filter_is_read_as_json_or_refused() -> None:
    assert segment_filter(None) is None
    assert segment_filter('{"all": []}') == {"all": []}
    with pytest.raises(ValidationError, match="--filter is not JSON") as refused:
        segment_filter('{"all": [')
    assert refused.value.field == "filter"


def test_a_filter_that_is_not_a_json_object_is_refused_in_either_language() -> None:
    cases = {
        '{"all": [': "--filter — не JSON (строка 1, позиция 10)",
        "[1]": "--filter — не JSON-объект",
        "[" * 50_000: "в --filter слишком глубокая вложенность",  # no RecursionError traceback
    }
    for text, russian in cases.items():
        with pytest.raises(ValidationError) as refused:
            read_filter(text)
        assert refused.value.field == "filter"
        assert said_in("ru", str(refused.value)) == russian
    with pytest.raises(ValidationError, match=r"--params is not a JSON object"):
        json_object('"x"', "--params")
