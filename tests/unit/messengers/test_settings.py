"""`[messengers]` as TOML: the shape, env: secrets, what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.channels.messengers.plugin import PLUGIN
from hub.channels.messengers.settings import BotMode
from hub.config import load_settings
from hub.errors import ConfigError

TOKEN = "123:abc-DEF_ghi"


def _load(tmp_path: Path, text: str) -> object:
    config = tmp_path / "touchhub.toml"
    config.write_text(text, encoding="utf-8")
    return load_settings(config, environ={"TG": TOKEN})


def test_a_bot_with_its_token_from_the_environment(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        '[messengers]\npublic_url = "https://hub.example/"\n'
        '[messengers.telegram.support]\ntoken = "env:TG"\nmode = "webhook"\n'
        'webhook_secret = "0123456789abcdef"\nper_chat_rate = 0.5\n',
    )
    section = PLUGIN.settings_of(settings)  # type: ignore[arg-type]
    bot = section.telegram["support"]
    assert bot.token.get_secret_value() == TOKEN and bot.mode is BotMode.WEBHOOK
    assert section.public_url == "https://hub.example"
    assert TOKEN not in repr(section)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[messengers.telegram.a]\ntoken = "nope"\n', "token"),
        ('[messengers.telegram.a]\ntoken = "1:a"\nmode = "webhook"\n', "webhook_secret"),
        (
            '[messengers.telegram.a]\ntoken = "1:a"\nmode = "webhook"\nwebhook_secret = "0123456789abcdef"\n',
            "public_url",
        ),
        ('[messengers.telegram.a]\ntoken = "1:a"\nwebhook_secret = "short"\n', "webhook_secret"),
        ('[messengers]\nlink_secret = "short"\n', "link_secret"),
        ('[messengers.telegram.a]\ntoken = "1:a"\nunknown = 1\n', "unknown"),
    ],
)
def test_bad_sections_are_refused_naming_the_key(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        _load(tmp_path, text)
