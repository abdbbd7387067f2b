"""The Bot API wire under python-telegram-bot (`AiohttpRequest`): transport failures become
the hub's errors, uploads go as multipart, and a bot's connections close with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from hub.channels.messengers.telegram_client import bot_username, make_bot, translate
from hub.errors import ChannelConnectError, ChannelTimeout
from tests.helpers.fake_telegram import FakeTelegram
from tests.helpers.postgres import free_port
from tests.integration.messengers.conftest import settings_for

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def silent_server() -> AsyncIterator[str]:
    """A server that takes connections and never answers (a Bot API that hangs)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_bot_api_that_never_answers_is_a_timeout(fake_tg: FakeTelegram, silent_server: str) -> None:
    fake_tg.url = silent_server
    settings = settings_for(fake_tg, timeout_s=0.3).telegram["main"]
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ChannelTimeout):
        await bot_username(settings, "telegram:main")
    assert loop.time() - started < 5


async def test_a_bot_api_nobody_listens_on_is_a_connect_error(fake_tg: FakeTelegram) -> None:
    fake_tg.url = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(fake_tg, timeout_s=2).telegram["main"]
    with pytest.raises(ChannelConnectError, match="Telegram"):
        await bot_username(settings, "telegram:main")


async def test_an_error_that_quotes_the_url_does_not_carry_the_token(fake_tg: FakeTelegram) -> None:
    """A Bot API address that redirects for ever: aiohttp's error quotes the URL, which
    holds the bot's token; what reaches health and the log has it masked."""

    async def again(request: web.Request) -> web.Response:
        raise web.HTTPFound(str(request.url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", again)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        fake_tg.url = f"http://127.0.0.1:{port}"
        settings = settings_for(fake_tg, timeout_s=2).telegram["main"]
        with pytest.raises(ChannelConnectError) as caught:
            await bot_username(settings, "telegram:main")
    finally:
        await runner.cleanup()
    token = settings.token.get_secret_value()
    assert "Redirect" in str(caught.value) and "/bot***" in str(caught.value)
    assert token not in str(caught.value) and token.split(":")[1] not in str(caught.value)


async def test_a_file_goes_up_as_multipart_with_its_fields(fake_tg: FakeTelegram) -> None:
    bot = make_bot(settings_for(fake_tg).telegram["main"])
    await bot.initialize()
    try:
        # the fake has no sendDocument: it records the request, then answers 404
        with pytest.raises(Exception) as caught:
            await bot.send_document(chat_id=42, document=b"%PDF-1.4 invoice", filename="invoice.pdf")
        assert "Not Found" in str(translate(caught.value, "telegram:main"))  # type: ignore[arg-type]
    finally:
        await bot.shutdown()
    call = fake_tg.calls[-1]
    assert call.method == "sendDocument"
    assert call.params["chat_id"] == 42
    assert "filename='invoice.pdf'" in str(call.params["document"])
    assert "application/pdf" in str(call.params["document"])
