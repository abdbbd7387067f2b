"""`touchhub telegram link-token`: a signed deep link for a contact, refused when it cannot be."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from hub.channels.messengers.link_token import verify_contact_token
from hub.channels.messengers.settings import TelegramBotSettings
from hub.channels.messengers.telegram_client import bot_username
from tests.helpers.cli import Touchhub
from tests.helpers.fake_telegram import BOT_USER, TOKEN, FakeTelegram
from tests.integration.messengers.conftest import LINK_SECRET

CSV = "name,phone\nИван Петров,+79161234567\n"


def _hub(tmp_path: Path, messengers: str) -> Touchhub:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'demo_on_empty = false\n[store]\nurl = "sqlite:///{tmp_path}/cli.db"\n{messengers}',
        encoding="utf-8",
    )
    return Touchhub(config=config, env={"TEST_TG_TOKEN": TOKEN, "TEST_LINK": LINK_SECRET})


BOT = '[messengers.telegram.main]\ntoken = "env:TEST_TG_TOKEN"\nusername = "@acme_bot"\n'


def test_link_token_prints_a_signed_deep_link_for_the_contact(tmp_path: Path) -> None:
    hub = _hub(tmp_path, '[messengers]\nlink_secret = "env:TEST_LINK"\n' + BOT)
    contacts = tmp_path / "c.csv"
    contacts.write_text(CSV, encoding="utf-8")
    hub.ok("import", "contacts", str(contacts))
    [contact] = json.loads(hub.ok("contacts", "list", "--json"))
    link = hub.ok("telegram", "link-token", "--contact", str(contact["id"])).strip()
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", "/acme_bot")
    [token] = parse_qs(parts.query)["start"]
    assert verify_contact_token(LINK_SECRET.encode(), token) == contact["id"]
    data = json.loads(hub.ok("telegram", "link-token", "--contact", str(contact["id"]), "--json"))
    assert data["link"] == link and data["name"] == "Иван Петров"


def test_link_token_is_refused_for_an_unknown_contact_or_without_a_secret(tmp_path: Path) -> None:
    hub = _hub(tmp_path, '[messengers]\nlink_secret = "env:TEST_LINK"\n' + BOT)
    assert "not" in hub.fails("telegram", "link-token", "--contact", "4242").output.casefold()
    (tmp_path / "bare").mkdir()
    bare = _hub(tmp_path / "bare", BOT)
    contacts = tmp_path / "c.csv"
    contacts.write_text(CSV, encoding="utf-8")
    bare.ok("import", "contacts", str(contacts))
    [contact] = json.loads(bare.ok("contacts", "list", "--json"))
    refused = bare.fails("telegram", "link-token", "--contact", str(contact["id"]))
    assert "link_secret" in refused.output


async def test_the_username_is_asked_with_get_me_when_not_configured(fake_tg: FakeTelegram) -> None:
    settings = TelegramBotSettings(token=TOKEN, api_url=fake_tg.url)  # type: ignore[arg-type]
    assert await bot_username(settings, "telegram:main") == BOT_USER["username"]
    assert [c.method for c in fake_tg.calls] == ["getMe"]
