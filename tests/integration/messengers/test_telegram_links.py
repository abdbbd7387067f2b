"""A Telegram chat linked to a contact: a phone the client shares, a signed /start link."""

from __future__ import annotations

from hub.activity import ActivityStore, BatchWriter
from hub.activity.contact_import import import_contacts, parse_file
from hub.channels.messengers.factory import build_capture
from hub.channels.messengers.link_token import contact_token
from tests.helpers.fake_telegram import FakeTelegram
from tests.integration.messengers.conftest import (
    LINK_SECRET,
    activity_rows,
    identity_of,
    settings_for,
)

CSV = "name,organization,phone,email\nИван Петров,Acme,8 (916) 123-45-67,ivan@acme.ru\n"


async def _imported(store: ActivityStore) -> int:
    rows, rejects = parse_file(CSV.encode(), "contacts.csv", "RU")
    report = await import_contacts(store.contacts, rows, rejects)
    assert report.created == 1
    owner = await identity_of(store, "phone", "+79161234567")
    assert owner is not None
    return int(owner["contact_id"])


def _shared(fake: FakeTelegram, chat: int, message_id: int, phone: str, user_id: int) -> None:
    fake.push(
        "message",
        fake.message(
            chat,
            message_id,
            contact={"phone_number": phone, "first_name": "Иван", "user_id": user_id},
        ),
    )


async def test_a_contact_shared_by_phone_lands_on_the_imported_contact(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    contact = await _imported(tg_store)
    adapter = build_capture(settings_for(fake_tg), "main")
    fake_tg.send_text(4001, 1, "Добрый день")  # first a stranger: a lead is made from the chat
    await adapter.sync_once(writer)
    lead = (await activity_rows(tg_store))["4001:1"]["contact_id"]
    assert lead != contact

    _shared(fake_tg, 4001, 2, "+7 916 123-45-67", user_id=4001)
    fake_tg.send_text(4001, 3, "Это я")
    await adapter.sync_once(writer)

    identity = await identity_of(tg_store, "telegram", "4001")
    assert identity is not None and identity["contact_id"] == contact
    rows = await activity_rows(tg_store)
    # the earlier message follows the chat to the contact, and so does everything after
    assert {k: r["contact_id"] for k, r in rows.items()} == {
        "4001:1": contact,
        "4001:2": contact,
        "4001:3": contact,
    }
    assert rows["4001:2"]["meta"]["kind"] == "contact"


async def test_somebody_elses_contact_card_links_nothing(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    contact = await _imported(tg_store)
    _shared(fake_tg, 4002, 1, "+79161234567", user_id=99999)  # forwarded card of another user
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    identity = await identity_of(tg_store, "telegram", "4002")
    assert identity is not None and identity["contact_id"] != contact


async def test_an_unknown_phone_is_added_to_the_chats_own_contact(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    _shared(fake_tg, 4003, 1, "+79035550011", user_id=4003)
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    chat = await identity_of(tg_store, "telegram", "4003")
    phone = await identity_of(tg_store, "phone", "+79035550011")
    assert chat is not None and phone is not None and phone["contact_id"] == chat["contact_id"]


async def test_a_signed_start_link_links_the_chat_to_its_contact(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    contact = await _imported(tg_store)
    token = contact_token(LINK_SECRET.encode(), contact)
    fake_tg.send_text(4004, 1, f"/start {token}")
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    identity = await identity_of(tg_store, "telegram", "4004")
    assert identity is not None and identity["contact_id"] == contact
    row = (await activity_rows(tg_store))["4004:1"]
    assert row["contact_id"] == contact and row["preview"] == "/start"  # the token is not shown


async def test_a_forged_or_foreign_start_token_links_nothing(
    fake_tg: FakeTelegram, tg_store: ActivityStore, writer: BatchWriter
) -> None:
    contact = await _imported(tg_store)
    forged = contact_token(b"another-secret-entirely-000000", contact)
    fake_tg.send_text(4005, 1, f"/start {forged}")
    fake_tg.send_text(4006, 1, f"/start c{contact}_AAAAAAAAAAAAAAAAAAAAAAAA")
    await build_capture(settings_for(fake_tg), "main").sync_once(writer)
    for chat in ("4005", "4006"):
        identity = await identity_of(tg_store, "telegram", chat)
        assert identity is not None and identity["contact_id"] != contact
