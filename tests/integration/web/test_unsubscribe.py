"""Unsubscribe links served by the hub: RFC 8058 one-click without login, the page in two
languages, forged links refused with nothing recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData
from pydantic import SecretStr

from hub.activity import ActivityStore
from hub.activity.repos import ActivityFilter
from hub.campaigns.settings import CampaignSettings
from hub.campaigns.signing import SigningKeys
from hub.campaigns.unsubscribe import issue, list_unsubscribe_headers, unsubscribe_url
from hub.config import Settings
from hub.model import Address, AddressKind, Channel
from tests.helpers.web import ApiWorld, Seeded, api_world, copy_store_file

SECRET = "x" * 40
KEYS = SigningKeys.single(SECRET.encode(), "1")
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
async def world(tmp_path: Path, api_template: tuple[Path, Seeded]) -> AsyncIterator[ApiWorld]:
    template, seeded = api_template
    copy_store_file(template, tmp_path / "t.db")
    store = await ActivityStore.open(f"sqlite:///{tmp_path}/t.db")
    settings = Settings(campaigns=CampaignSettings(secret=SecretStr(SECRET)))
    try:
        async with api_world(store, seeded=seeded, settings=settings) as world:
            yield world
    finally:
        await store.close()


async def _anna(world: ApiWorld) -> tuple[int, str]:
    contact = await world.store.contacts.create(
        "Anna",
        addresses=[
            Address(kind=AddressKind.EMAIL, value="Anna@Client.ru"),
            Address(kind=AddressKind.PHONE, value="+79161234567"),
        ],
    )
    token = issue(
        KEYS,
        campaign_id=4,
        recipient_id=40,
        contact_id=contact,
        kind=AddressKind.EMAIL,
        address="anna@client.ru",
    )
    return contact, token


async def _suppressed(world: ApiWorld) -> set[str]:
    return await world.store.suppressions.suppressed(
        Channel.EMAIL, ["anna@client.ru", "x@client.ru"]
    )


async def test_one_click_post_needs_no_login_and_is_idempotent(world: ApiWorld) -> None:
    contact, token = await _anna(world)
    url = unsubscribe_url("https://hub.acme.ru", token)
    headers = list_unsubscribe_headers(url)
    assert headers["List-Unsubscribe"] == f"<{url}>"
    path = url.removeprefix("https://hub.acme.ru")
    for _ in range(2):  # a mail client may POST twice
        resp = await world.client.post(path, data=ONE_CLICK)
        assert resp.status == 200, await resp.text()
    form = FormData()
    form.add_field("List-Unsubscribe", "One-Click", content_type="text/plain")  # multipart
    multipart = await world.client.post(path, data=form)  # RFC 8058 allows multipart/form-data
    assert multipart.status == 200
    assert await _suppressed(world) == {"anna@client.ru"}
    found, total = await world.store.suppressions.search()
    assert total == 1
    made = found[0]
    assert (made.reason, made.campaign_id, made.contact_id, made.channel) == (
        "unsubscribed",
        4,
        contact,
        "email",
    )
    notes = [
        a
        for a in (await world.store.activities.list(ActivityFilter(contact_id=contact))).items
        if a["channel"] == "note"
    ]
    assert len(notes) == 1 and "campaign #4" in notes[0]["subject"]
    # the phone was not touched
    assert await world.store.suppressions.suppressed(Channel.SMS, ["+79161234567"]) == set()


async def test_get_shows_a_page_and_records_nothing(world: ApiWorld) -> None:
    _contact, token = await _anna(world)
    ru = await world.client.get(f"/u/{token}", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert ru.status == 200
    text = await ru.text()
    assert "Отписаться" in text and 'lang="ru"' in text and 'method="post"' in text
    assert 'name="List-Unsubscribe" value="One-Click"' in text
    assert "script" not in text and "<img" not in text  # no tracking
    assert "default-src 'self'" in ru.headers["Content-Security-Policy"]
    assert ru.headers["Cache-Control"] == "no-store"
    en = await world.client.get(f"/u/{token}", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Unsubscribe" in await en.text() and en.headers["Content-Language"] == "en"
    forced = await world.client.get(f"/u/{token}?lang=en", headers={"Accept-Language": "ru"})
    assert "Stop sending you letters" in await forced.text()
    assert await _suppressed(world) == set()
    # the page's button
    done = await world.client.post(f"/u/{token}?lang=en", data=ONE_CLICK)
    assert done.status == 200 and "you are unsubscribed" in await done.text()
    done_ru = await world.client.post(f"/u/{token}?lang=ru", data=ONE_CLICK)
    assert "вы отписаны" in await done_ru.text()
    assert await _suppressed(world) == {"anna@client.ru"}


@pytest.mark.parametrize("change", ["payload", "signature", "key", "garbage", "other-secret"])
async def test_forged_links_are_refused_and_logged(
    world: ApiWorld, change: str, caplog: pytest.LogCaptureFixture
) -> None:
    contact, token = await _anna(world)
    kid, payload, sig = token.split(".")
    forged = {
        "payload": f"{kid}.{payload[:-3]}{'A' if payload[-3] != 'A' else 'B'}{payload[-2:]}.{sig}",
        "signature": f"{kid}.{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}",
        "key": f"9.{payload}.{sig}",
        "garbage": "not-a-token",
        "other-secret": issue(
            SigningKeys.single(b"y" * 40, "1"),
            campaign_id=4,
            recipient_id=40,
            contact_id=contact,
            kind=AddressKind.EMAIL,
            address="anna@client.ru",
        ),
    }[change]
    for method in ("GET", "POST"):
        resp = await world.client.request(method, f"/u/{forged}", data=ONE_CLICK)
        assert resp.status == 403, (method, await resp.text())
        assert "Ничего не изменено" in await resp.text()
    assert "refused unsubscribe link" in caplog.text
    assert await _suppressed(world) == set()
    assert (await world.store.suppressions.search(active=None))[1] == 0


async def test_post_without_one_click_body_is_refused(world: ApiWorld) -> None:
    _contact, token = await _anna(world)
    for data in ({}, {"List-Unsubscribe": "yes"}):
        resp = await world.client.post(f"/u/{token}", data=data)
        assert resp.status == 400
    assert await _suppressed(world) == set()


async def test_address_gone_from_the_contact_is_410(world: ApiWorld) -> None:
    contact, _token = await _anna(world)
    token = issue(
        KEYS,
        campaign_id=4,
        recipient_id=41,
        contact_id=contact,
        kind=AddressKind.EMAIL,
        address="old@client.ru",
    )
    resp = await world.client.post(f"/u/{token}", data=ONE_CLICK)
    assert resp.status == 410
    assert (await world.store.suppressions.search(active=None))[1] == 0


async def test_without_a_secret_every_link_is_refused(api: ApiWorld) -> None:
    contact = await api.store.contacts.create(
        "A", addresses=[Address(kind=AddressKind.EMAIL, value="a@client.ru")]
    )
    token = issue(
        KEYS, campaign_id=1, recipient_id=1, contact_id=contact, kind=AddressKind.EMAIL, address="a@client.ru"
    )
    assert (await api.client.post(f"/u/{token}", data=ONE_CLICK)).status == 403
