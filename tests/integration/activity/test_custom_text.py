"""Custom contact fields read by SQL on both databases, whatever letters their keys have."""

from __future__ import annotations

from sqlalchemy import select

from hub.activity import ActivityStore
from hub.activity.dialect import custom_text
from hub.activity.schema import contacts


async def test_a_cyrillic_custom_key_is_found_on_both_databases(store: ActivityStore) -> None:
    contact_id = await store.contacts.create(
        "ООО Ромашка", custom={"инн": "7701234567", "region_code": "77", "пусто": ""}
    )
    async with store.engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    custom_text(contacts.c.custom, "инн"),
                    custom_text(contacts.c.custom, "region_code"),
                    custom_text(contacts.c.custom, "пусто"),
                    custom_text(contacts.c.custom, "нет такого"),
                ).where(contacts.c.id == contact_id)
            )
        ).one()
    assert tuple(row) == ("7701234567", "77", "", None)
