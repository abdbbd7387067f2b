"""`touchhub messenger send --channel vk|viber` reaches the fake platform and the dialog;
`messenger dialogs --channel` lists them."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from hub.activity import ActivityStore
from hub.model import Address, AddressKind, utcnow
from tests.helpers.cli import Touchhub
from tests.helpers.fake_messenger import incoming
from tests.helpers.fake_viber import AUTH_TOKEN, USER_ID, running_fake_viber
from tests.helpers.fake_vk import ACCESS_TOKEN, GROUP_ID, running_fake_vk


async def _seed(url: str) -> dict[str, int]:
    store = await ActivityStore.open(url)
    try:
        vk_client = await store.contacts.create("Пётр ВК", addresses=[Address(kind=AddressKind.VK, value="5001")])
        viber_client = await store.contacts.create(
            "Ольга Viber", addresses=[Address(kind=AddressKind.VIBER, value=USER_ID)]
        )
        at = utcnow() - timedelta(minutes=5)
        await store.record(
            [
                incoming("vk", "club", "5001", "Есть доставка?", at, message_id="5001:1"),
                incoming("viber", "shop", USER_ID, "Есть размер M?", at, message_id="4912661846655238145"),
            ]
        )
        return {"vk": vk_client, "viber": viber_client}
    finally:
        await store.close()


async def test_send_and_dialogs_on_vk_and_viber(tmp_path: Path) -> None:
    async with running_fake_vk() as vk, running_fake_viber() as viber:
        url = f"sqlite:///{tmp_path}/cli.db"
        config = tmp_path / "touchhub.toml"
        config.write_text(
            f'demo_on_empty = false\n[store]\nurl = "{url}"\n'
            f'[messengers.vk.club]\ngroup_id = {GROUP_ID}\nconfirmation = "c0nf"\nsecret = "s3cret-key"\n'
            f'access_token = "env:VK_TOKEN"\napi_url = "{vk.url}"\n'
            f'[messengers.viber.shop]\nauth_token = "env:VIBER_TOKEN"\nsender_name = "Acme"\napi_url = "{viber.url}"\n',
            encoding="utf-8",
        )
        th = Touchhub(config=config, env={"VK_TOKEN": ACCESS_TOKEN, "VIBER_TOKEN": AUTH_TOKEN})
        ids = await _seed(url)
        for platform in ("vk", "viber"):
            out = await asyncio.to_thread(
                th.ok, "messenger", "send", "--contact", str(ids[platform]), "--channel", platform,
                "--text", f"Ответ в {platform}", "--json",
            )
            data = json.loads(out)
            assert data["outcome"] == "sent" and data["dialog_id"] is not None
        assert [(s["peer_id"], s["message"]) for s in vk.sent] == [("5001", "Ответ в vk")]
        assert [(s["receiver"], s["text"]) for s in viber.sent] == [(USER_ID, "Ответ в viber")]
        for platform, chat in (("vk", "5001"), ("viber", USER_ID)):
            listed = json.loads(await asyncio.to_thread(th.ok, "messenger", "dialogs", "--channel", platform, "--json"))
            [dialog] = listed["items"]
            assert (dialog["counterpart"], dialog["contact_id"]) == (chat, ids[platform])
            assert dialog["last_direction"] == "out"
