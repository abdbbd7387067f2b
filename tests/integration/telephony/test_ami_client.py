"""`AmiClient` on its own against the loopback AMI server: login, ActionID correlation,
list actions, Ping keep-alive, the end of a connection and connecting again.

The adapter's behaviour on top of the client is in test_ami_adapter_loopback.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.errors import ChannelAuthError, ChannelConnectError, ChannelTimeout, ConfigError
from hub.telephony.ami_client import AmiActionError, AmiClient, AmiEndpoint
from hub.telephony.ami_protocol import AmiGarbage, AmiItem, AmiMessage
from tests.helpers.ami_server import BANNER, FakeAmiServer, ServerPlan, refused_port

pytestmark = pytest.mark.timeout(30)

#: Every wait in these tests is bounded by this.
STEP_S = 5.0
#: `Action: Filter` expressions a client is asked to install after login.
FILTERS = ("Event: (Newchannel|Hangup|FullyBooted)", "Variable: MIXMONITOR_FILENAME")


def event(name: str, **headers: str) -> bytes:
    lines = [f"Event: {name}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def client_for(
    server: FakeAmiServer,
    *,
    secret: str | None = None,
    ping_interval: float = 20.0,
    ping_timeout: float = 10.0,
    wanted_events: frozenset[str] | None = None,
    event_filters: tuple[str, ...] = (),
) -> AmiClient:
    """A client for `server` (its secret unless told otherwise), MD5 login."""
    endpoint = AmiEndpoint.from_url(server.url, server.secret if secret is None else secret)
    return AmiClient(
        endpoint,
        event_filters=event_filters,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        wanted_events=wanted_events,
    )


async def next_event(client: AmiClient) -> AmiItem:
    return await asyncio.wait_for(client.next_event(), STEP_S)


async def events_until(client: AmiClient, name: str) -> list[AmiItem]:
    """Events up to and including the first called `name`."""
    seen: list[AmiItem] = []
    while not seen or getattr(seen[-1], "event", None) != name:
        seen.append(await next_event(client))
    return seen


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    async with FakeAmiServer() as srv:
        yield srv


# -- endpoint ---------------------------------------------------------------------------


def test_endpoint_from_url_keeps_the_secret_out_of_repr_and_str() -> None:
    ep = AmiEndpoint.from_url("ami://hub%40pbx@10.0.0.5:5039", "top-secret", auth="plain")
    assert (ep.host, ep.port, ep.username, ep.auth) == ("10.0.0.5", 5039, "hub@pbx", "plain")
    assert "top-secret" not in repr(ep) and "top-secret" not in str(ep)
    assert str(ep) == "ami://hub@pbx@10.0.0.5:5039"
    assert AmiEndpoint.from_url("ami://hub@pbx.local", "x").port == 5038


@pytest.mark.parametrize(
    "url", ["http://hub@pbx:5038", "ami://pbx:5038", "ami://hub@:5038", "ami://hub@pbx:99999"]
)
def test_endpoint_from_url_refuses_what_is_not_ami_user_at_host(url: str) -> None:
    with pytest.raises(ConfigError, match="telephony ami"):
        AmiEndpoint.from_url(url, "x")


# -- login ------------------------------------------------------------------------------


async def test_md5_login_never_sends_the_secret(server: FakeAmiServer) -> None:
    async with client_for(server) as client:
        assert client.connected and client.banner == BANNER
    assert server.logins == 1
    challenge, login = server.actions_named("Challenge"), server.actions_named("Login")
    assert [c["AuthType"] for c in challenge] == ["MD5"]
    assert login[0]["AuthType"] == "MD5" and len(login[0]["Key"]) == 32
    assert "Secret" not in login[0]
    assert all(server.secret not in value for _c, fields in server.actions for _k, value in fields)


async def test_plain_login_asks_for_the_event_classes_and_installs_the_filters(
    server: FakeAmiServer,
) -> None:
    endpoint = AmiEndpoint.from_url(server.url, server.secret, auth="plain")
    async with AmiClient(endpoint, event_mask="call,system", event_filters=FILTERS) as client:
        assert client.connected
    (login,) = server.actions_named("Login")
    assert (login["Username"], login["Secret"], login["Events"]) == ("hub", "s3cret", "call,system")
    assert server.actions_named("Challenge") == []
    filters = server.actions_named("Filter")
    assert [(f["Operation"], f["Filter"]) for f in filters] == [("Add", x) for x in FILTERS]
    assert server.actions_named("Logoff"), "close() logs off"


@pytest.mark.parametrize("who", ["secret", "user"])
async def test_refused_login_is_an_auth_error_naming_the_user_not_the_secret(
    server: FakeAmiServer, who: str
) -> None:
    client = client_for(server, secret="wrong" if who == "secret" else None)  # as hub
    if who == "user":
        server.username = "nobody"
    with pytest.raises(ChannelAuthError) as refused:
        await client.connect()
    assert "'hub'" in str(refused.value) and "wrong" not in str(refused.value)
    assert server.failed_logins == 1 and not client.connected
    with pytest.raises(ChannelConnectError):
        await client.action("Ping")


async def test_nobody_listening_is_a_connect_error() -> None:
    client = AmiClient(AmiEndpoint(host="127.0.0.1", port=refused_port(), username="u", secret="s"))
    with pytest.raises(ChannelConnectError, match="cannot connect"):
        await client.connect()
    assert not client.connected


async def test_refused_filter_leaves_every_event_coming(server: FakeAmiServer) -> None:
    server.plan = ServerPlan(filter_allowed=False, streams=[event("Newchannel", Uniqueid="1.1")])
    async with client_for(server, event_filters=FILTERS) as client:
        assert client.connected
        names = [getattr(e, "event", None) for e in await events_until(client, "Newchannel")]
    assert names == ["FullyBooted", "Newchannel"]
    assert len(server.actions_named("Filter")) == 1  # the first refusal ends the attempt


# -- actions and their ActionIDs ----------------------------------------------------------


async def test_concurrent_actions_each_get_their_own_answer(server: FakeAmiServer) -> None:
    async with client_for(server) as client:
        ids = [f"mine-{n}" for n in range(20)]
        answers = await asyncio.wait_for(
            asyncio.gather(*(client.action("Ping", action_id=i) for i in ids)), STEP_S
        )
        other = await client.action("Ping")
    assert [a.action_id for a in answers] == ids
    assert all(a.response == "Success" and a.get("Ping") == "Pong" for a in answers)
    assert other.action_id not in ids and other.action_id
    sent = [p["ActionID"] for p in server.actions_named("Ping")]
    assert len(set(sent)) == len(sent) == 21


async def test_an_error_answer_raises_for_its_own_action_only(server: FakeAmiServer) -> None:
    async with client_for(server) as client:
        bad, good = await asyncio.wait_for(
            asyncio.gather(client.action("NoSuchAction"), client.action("Ping"), return_exceptions=True),
            STEP_S,
        )
        unchecked = await client.action("NoSuchAction", check=False)
    assert isinstance(bad, AmiActionError) and "Invalid/unknown command" in str(bad)
    assert bad.response.response == "Error"
    assert isinstance(good, AmiMessage) and good.get("Ping") == "Pong"
    assert unchecked.response == "Error"


async def test_an_unanswered_action_times_out_while_later_ones_are_answered(
    server: FakeAmiServer,
) -> None:
    server.plan = ServerPlan(answer_ping=False)
    async with client_for(server, ping_interval=0) as client:
        silent = asyncio.create_task(client.action("Ping", time_limit=1.0))
        await asyncio.sleep(0.05)
        answered = await client.action("Events", {"EventMask": "on"})
        assert not silent.done()
        with pytest.raises(ChannelTimeout, match="Ping"):
            await silent
        assert client.connected  # one unanswered action does not end the connection
    assert answered.get("Events") == "On"


async def test_an_event_with_an_action_id_reaches_the_one_waiting_for_it(
    server: FakeAmiServer,
) -> None:
    async with client_for(server) as client:
        action_id = client.new_action_id()
        waiter = client.expect_event(action_id)
        queued = await client.action(
            "Originate",
            {"Channel": "PJSIP/101", "Context": "out", "Exten": "100", "Async": "true"},
            action_id=action_id,
        )
        result = await asyncio.wait_for(waiter, STEP_S)
        after = await client.action("Ping")
    assert queued.get("Message") == "Originate successfully queued"
    assert (result.event, result.action_id, result.response) == (
        "OriginateResponse",
        action_id,
        "Success",
    )
    assert after.get("Ping") == "Pong"


# -- list actions -------------------------------------------------------------------------


async def test_list_action_returns_its_items_and_keeps_them_out_of_the_event_stream(
    server: FakeAmiServer,
) -> None:
    chans = [{"Uniqueid": f"1795000000.{n}", "Channel": f"PJSIP/10{n}-0001"} for n in range(3)]
    server.plan = ServerPlan(
        channels=[chans], stream_after="CoreShowChannels", streams=[event("Hangup", Uniqueid="9.9")]
    )
    async with client_for(server) as client:
        got = await client.list_action("CoreShowChannels")
        names = [getattr(e, "event", None) for e in await events_until(client, "Hangup")]
    assert [m.event for m in got] == ["CoreShowChannel"] * 3
    assert [m.get("Uniqueid") for m in got] == [c["Uniqueid"] for c in chans]
    assert names == ["FullyBooted", "Hangup"]  # neither the items nor the Complete event


async def test_an_empty_list_and_a_refused_list_are_empty(server: FakeAmiServer) -> None:
    async with client_for(server) as client:
        assert await client.list_action("CoreShowChannels") == []
        with pytest.raises(AmiActionError):
            await client.list_action("NoSuchListAction")
        assert client.connected


# -- events -----------------------------------------------------------------------------


async def test_events_arrive_in_order_with_garbage_passed_on(server: FakeAmiServer) -> None:
    stream = event("Newchannel", Uniqueid="1.1") + b"\x00\xff not a frame\r\n\r\n"
    stream += event("Hangup", Uniqueid="1.1")
    server.plan = ServerPlan(streams=[stream], chunk_size=7)  # split across reads anywhere
    async with client_for(server) as client:
        seen = await events_until(client, "Hangup")
    assert [getattr(e, "event", None) for e in seen if not isinstance(e, AmiGarbage)] == [
        "FullyBooted",
        "Newchannel",
        "Hangup",
    ]
    assert [type(e).__name__ for e in seen].count("AmiGarbage") == 1


async def test_wanted_events_drop_the_rest_but_keep_the_clients_own(
    server: FakeAmiServer,
) -> None:
    stream = event("VarSet", Variable="X") + event("Newchannel", Uniqueid="1.1")
    server.plan = ServerPlan(streams=[stream + event("Hangup", Uniqueid="1.1")])
    async with client_for(server, wanted_events=frozenset({"Hangup"})) as client:
        names = [getattr(e, "event", None) for e in await events_until(client, "Hangup")]
    assert names == ["FullyBooted", "Hangup"]


# -- keep-alive, the end of a connection, connecting again -----------------------------------


async def test_ping_keeps_an_answering_pbx_connected(server: FakeAmiServer) -> None:
    async with client_for(server, ping_interval=0.05, ping_timeout=1.0) as client:
        for _ in range(100):
            if len(server.actions_named("Ping")) >= 3:
                break
            await asyncio.sleep(0.02)
        assert client.connected
    assert len(server.actions_named("Ping")) >= 3


async def test_a_silent_pbx_ends_the_connection_with_a_timeout(server: FakeAmiServer) -> None:
    server.plan = ServerPlan(answer_ping=False)
    client = client_for(server, ping_interval=0.05, ping_timeout=0.1)
    await client.connect()
    try:
        assert getattr(await next_event(client), "event", None) == "FullyBooted"
        with pytest.raises(ChannelTimeout, match="Ping"):
            await next_event(client)
        assert not client.connected
        with pytest.raises(ChannelTimeout):
            await client.action("Events")
    finally:
        await client.close()


async def test_a_dropped_connection_fails_waiters_and_a_new_client_logs_in_again(
    server: FakeAmiServer,
) -> None:
    server.plan = ServerPlan(answer_ping=False)
    client = client_for(server, ping_interval=0)
    await client.connect()
    try:
        pending = asyncio.create_task(client.action("Ping", time_limit=STEP_S))
        await asyncio.sleep(0.05)
        await server.drop_all()
        with pytest.raises(ChannelConnectError):
            await asyncio.wait_for(pending, STEP_S)
        assert getattr(await next_event(client), "event", None) == "FullyBooted"
        with pytest.raises(ChannelConnectError, match=r"closed by the PBX|lost"):
            await next_event(client)
        assert not client.connected
    finally:
        await client.close()

    server.plan = ServerPlan()
    async with client_for(server) as again:
        pong = await again.action("Ping")
    assert pong.get("Ping") == "Pong"
    assert (server.connections, server.logins) == (2, 2)


async def test_close_logs_off_and_ends_the_event_stream(server: FakeAmiServer) -> None:
    client = client_for(server)
    await client.connect()
    await client.close()
    await client.close()  # twice is harmless
    assert not client.connected
    assert len(server.actions_named("Logoff")) == 1
    with pytest.raises(ChannelConnectError, match="closed"):
        while True:  # whatever was queued, then the end
            await next_event(client)
