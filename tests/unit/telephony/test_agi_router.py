"""FastAGI router: a caller's number in, the responsible extension set as a channel variable."""

from __future__ import annotations

import asyncio

import pytest

from hub.telephony.agi_router import AGI_VARIABLE, AgiRouter

pytestmark = pytest.mark.timeout(20)

OWNERS = {"+74951234567": "101"}


async def lookup(phone: str) -> str | None:
    await asyncio.sleep(0)
    if phone == "boom":
        raise RuntimeError("store down")
    return OWNERS.get(phone)


async def agi_request(port: int, callerid: str) -> str:
    """Speak FastAGI as Asterisk does; return the command the router sent."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    env = f"agi_network: yes\nagi_request: agi://127.0.0.1/route\nagi_callerid: {callerid}\n\n"
    writer.write(env.encode())
    await writer.drain()
    command = (await asyncio.wait_for(reader.readline(), 5)).decode()
    writer.write(b"200 result=1\n")
    await writer.drain()
    await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return command.strip()


@pytest.mark.parametrize(
    ("callerid", "extension"), [("+74951234567", "101"), ("+70000000000", ""), ("boom", "")]
)
async def test_router_sets_responsible_extension(callerid: str, extension: str) -> None:
    router = AgiRouter(lookup, port=0)
    await router.start()
    try:
        command = await agi_request(router.address[1], callerid)
    finally:
        await router.stop()
    assert command == f'SET VARIABLE "{AGI_VARIABLE}" "{extension}"'
