"""Test helpers for telephony: the shared AMI recordings, a loopback AMI server, a memory sink.

`FakeAmiServer` speaks the AMI wire protocol as Asterisk does (banner, plain and MD5 login,
Ping, Filter, Originate with OriginateResponse, CoreShowChannels as a list action, Logoff)
and serves recorded event bytes exactly as captured. `MemorySink` is a real `Sink` that
dedups touches by (source, external_id) like the store does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hub.activity.options import WriterOptions
from hub.model import Checkpoint, Quarantined, SinkItem, StatusUpdate, Touch
from hub.telephony.call_assembler import AssemblerConfig, FinishedCall
from hub.telephony.cdr import read_cdr
from hub.telephony.replay import ReplayStats, chunked, replay, replay_sessions

BANNER = "Asterisk Call Manager/11.0.0"
CRLF2 = b"\r\n\r\n"
LOCAL_TRUNK_PATTERN = r"@(from-trunk|pstn-remote)-"
PJSIP_TRUNK_PATTERN = r"PJSIP/provider-"
RECORDED_INTERNAL_PATTERN = r"^1\d\d$"


# --------------------------------------------------------------------- recordings


def shared_ami_dir() -> Path:
    """`shared/ami` beside the project root (CI clones it there); fails loudly if missing."""
    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "ami"
    if not path.is_dir():
        raise FileNotFoundError(
            f"AMI recordings not found at {path}: clone the `shared` folder beside the project"
        )
    return path.resolve()


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """One recorded AMI stream with its expected calls and the replay options it needs.

    An outage recording has several parts, one per connection (`NAME.before.raw`,
    `NAME.after.raw`): the first was cut without Logoff, the next logged in again. Its
    `cdr` file (Asterisk's Master.csv lines) is what a backfill reads for the gap.
    """

    name: str
    parts: tuple[Path, ...]
    expected: Path
    internal_pattern: str
    trunk_pattern: str
    cdr: Path | None = None

    @property
    def raw(self) -> Path:
        """The (first) raw file."""
        return self.parts[0]

    @property
    def is_outage(self) -> bool:
        return len(self.parts) > 1

    def read(self) -> bytes:
        """The bytes of a one-connection recording."""
        if self.is_outage:
            raise ValueError(f"{self.name} is an outage recording: read its sessions()")
        return self.raw.read_bytes()

    def sessions(self) -> list[bytes]:
        """The bytes of each connection, in order."""
        return [p.read_bytes() for p in self.parts]

    def cut_short(self, part: Path) -> bool:
        """Whether this part's connection was dropped (no Logoff at its end)."""
        return self.is_outage and part != self.parts[-1]

    def expected_calls(self) -> list[dict[str, object]]:
        import json

        lines = self.expected.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


_PART_ORDER = {"before": 0, "after": 1}


def recordings() -> list[Recording]:
    """Every recording under shared/ami (Local-channel office and `pjsip/`)."""
    base = shared_ami_dir()
    found = []
    for folder in (base, base / "pjsip"):
        grouped: dict[str, list[Path]] = {}
        for raw in sorted(folder.glob("*.raw")):
            stem, _, part = raw.stem.rpartition(".")
            key = stem if part in _PART_ORDER else raw.stem
            grouped.setdefault(key, []).append(raw)
        trunk = PJSIP_TRUNK_PATTERN if folder.name == "pjsip" else LOCAL_TRUNK_PATTERN
        for name, parts in grouped.items():
            parts.sort(key=lambda p: _PART_ORDER.get(p.stem.rpartition(".")[2], 0))
            cdr = folder / f"{name}.cdr.csv"
            found.append(
                Recording(
                    name=name,
                    parts=tuple(parts),
                    expected=folder / f"{name}.expected.jsonl",
                    internal_pattern=RECORDED_INTERNAL_PATTERN,
                    trunk_pattern=trunk,
                    cdr=cdr if cdr.exists() else None,
                )
            )
    if not found:
        raise FileNotFoundError(f"no *.raw recordings in {base}")
    return found


def replay_recording(
    rec: Recording,
    config: AssemblerConfig,
    chunk: int = 65_536,
    transform: Callable[[bytes], bytes] = lambda raw: raw,
    stats: ReplayStats | None = None,
) -> list[FinishedCall]:
    """The calls a recording gives: one stream as it is, an outage with its CDR backfill."""
    if not rec.is_outage:
        return list(replay(chunked(transform(rec.read()), chunk), config, stats=stats))
    records = read_cdr(rec.cdr.read_text(encoding="utf-8"), config) if rec.cdr else []
    sessions = [chunked(transform(raw), chunk) for raw in rec.sessions()]
    return list(replay_sessions(sessions, config, records=records, stats=stats))


def frames(raw: bytes) -> list[bytes]:
    """The frames of a CRLF stream, each with its terminating blank line."""
    parts = raw.split(CRLF2)
    tail = parts.pop()
    out = [p + CRLF2 for p in parts]
    if tail:
        out.append(tail)
    return out


def events_only(raw: bytes) -> bytes:
    """A recording without its banner, login response and Logoff answer: just the events."""
    start = raw.find(b"Event: ")
    end = raw.find(b"Response: Goodbye")
    return raw[start : end if end >= 0 else len(raw)]


_DROP_EVENTS = (b"Event: Cdr\r\n", b"Event: CEL\r\n")
_TIMESTAMP_RE = re.compile(rb"^Timestamp: [^\r\n]*\r\n", re.MULTILINE)


def strip_optional(raw: bytes) -> bytes:
    """The same stream as a PBX without timestampevents, cdr_manager and cel_manager sends."""
    kept = [f for f in frames(raw) if not f.startswith(_DROP_EVENTS)]
    return _TIMESTAMP_RE.sub(b"", b"".join(kept))


_ID_RE = re.compile(rb"((?:Uniqueid|Linkedid): )(\d+)\.(\d+)")
_BRIDGE_RE = re.compile(rb"((?:BridgeUniqueid|BridgeId): [0-9a-f-]{27})([0-9a-f]{9})")


def renumber(raw: bytes, copy: int) -> bytes:
    """The stream with fresh Uniqueid/Linkedid/bridge ids, distinct for every `copy`."""
    offset = copy * 100_000

    def ids(m: re.Match[bytes]) -> bytes:
        return m.group(1) + m.group(2) + b"." + str(int(m.group(3)) + offset).encode()

    def bridges(m: re.Match[bytes]) -> bytes:
        return m.group(1) + f"{copy:09x}"[-9:].encode()

    return _BRIDGE_RE.sub(bridges, _ID_RE.sub(ids, raw))


def interleave(streams: list[bytes], at_once: int) -> Iterator[bytes]:
    """Frames of many calls mixed round-robin, `at_once` calls in flight, as a PBX would."""
    pending = deque(frames(s) for s in streams)
    active: list[Iterator[bytes]] = []
    while pending or active:
        while len(active) < at_once and pending:
            active.append(iter(pending.popleft()))
        still = []
        for it in active:
            frame = next(it, None)
            if frame is not None:
                yield frame
                still.append(it)
        active = still


def parse_headers(frame: bytes) -> dict[str, str]:
    """A frame's headers (first value per key), for tests that look into streams."""
    out: dict[str, str] = {}
    for line in frame.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep and key not in out:
            out[key] = value
    return out


def live_channels(stream: bytes) -> list[dict[str, str]]:
    """Channels created and not yet hung up at the end of `stream` (a CoreShowChannels view)."""
    live: dict[str, dict[str, str]] = {}
    for frame in frames(stream):
        h = parse_headers(frame)
        event, uid = h.get("Event"), h.get("Uniqueid")
        if not uid:
            continue
        if event == "Newchannel":
            live[uid] = h
        elif event == "Hangup":
            live.pop(uid, None)
        elif uid in live and "Channel" in h:
            live[uid].update({k: v for k, v in h.items() if k != "Event"})
    return list(live.values())


def pbx_time(stream: bytes) -> float | None:
    """The Timestamp of the last stamped event of `stream` (the PBX's clock at its end)."""
    stamps = re.findall(rb"^Timestamp: ([0-9.]+)\r$", stream, re.MULTILINE)
    return float(stamps[-1]) if stamps else None


def channels_at(stream: bytes) -> list[dict[str, str]]:
    """What `CoreShowChannels` answers at the end of `stream`, as Asterisk fills it: each
    channel up with its state, bridge, `AppDial` for a dialled phone and its `Duration`
    on the PBX's clock (whole seconds)."""
    now = pbx_time(stream) or 0.0
    live: dict[str, dict[str, str]] = {}
    dialled: set[str] = set()
    for frame in frames(stream):
        h = parse_headers(frame)
        event, uid = h.get("Event"), h.get("Uniqueid")
        if event == "DialBegin" and h.get("DestUniqueid"):
            dialled.add(h["DestUniqueid"])
        if not uid:
            continue
        if event == "Newchannel":
            live[uid] = {
                k: h[k]
                for k in ("Channel", "Uniqueid", "Linkedid", "CallerIDNum", "CallerIDName")
                if k in h
            } | {
                "Context": h.get("Context", ""),
                "Exten": h.get("Exten", ""),
                "ChannelStateDesc": h.get("ChannelStateDesc", "Down"),
                "ChannelState": h.get("ChannelState", "0"),
                "created": h.get("Timestamp", f"{now}"),
            }
        elif event == "Hangup":
            live.pop(uid, None)
        elif uid in live:
            chan = live[uid]
            for key in ("Channel", "Linkedid", "ChannelStateDesc", "ChannelState"):
                if key in h:
                    chan[key] = h[key]
            if event == "BridgeEnter":
                chan["BridgeId"] = h.get("BridgeUniqueid", "")
            elif event == "BridgeLeave":
                chan["BridgeId"] = ""
    out = []
    for uid, chan in live.items():
        seconds = max(0, int(now - float(chan.pop("created"))))
        chan["Duration"] = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        chan["Application"] = "AppDial" if uid in dialled else "Dial"
        out.append(chan)
    return out


# ------------------------------------------------------------------ memory sink


class MemorySink:
    """A `Sink` kept in memory; touches dedup by (source, external_id) like the store."""

    def __init__(self, *, put_delay: float = 0.0) -> None:
        self.touches: dict[tuple[str, str], Touch] = {}
        self.puts: list[Touch] = []
        self.updates: list[StatusUpdate] = []
        self.quarantined: list[Quarantined] = []
        self.checkpoints: dict[tuple[str, str], str] = {}
        self._put_delay = put_delay
        self._changed = asyncio.Condition()

    async def put(self, item: SinkItem) -> None:
        if self._put_delay:
            await asyncio.sleep(self._put_delay)
        if isinstance(item, Touch):
            self.puts.append(item)
            self.touches[item.key] = item
        elif isinstance(item, StatusUpdate):
            self.updates.append(item)
        elif isinstance(item, Quarantined):
            self.quarantined.append(item)
        elif isinstance(item, Checkpoint):
            self.checkpoints[(item.source, item.key)] = item.value
        async with self._changed:
            self._changed.notify_all()

    async def flush(self) -> None:
        return None

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return self.checkpoints.get((source, key))

    async def wait_for_touches(self, count: int, limit_s: float = 10.0) -> None:
        """Wait until `count` distinct touches are stored (or fail after `limit_s`)."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.touches) >= count)

        await asyncio.wait_for(_wait(), limit_s)


class StoreTap(MemorySink):
    """The real store's batching writer as the sink, noting what the adapter emitted on the way.

    Tests assert on both: the adapter put each call once, and the store holds each once.
    """

    def __init__(self, store: Any, *, put_delay: float = 0.0) -> None:
        super().__init__(put_delay=put_delay)
        self.store = store
        self.writer = store.writer(WriterOptions(batch_size=50, window_ms=10))

    async def put(self, item: SinkItem) -> None:
        await super().put(item)
        await self.writer.put(item)

    async def flush(self) -> None:
        await self.writer.flush()

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return cast(str | None, await self.writer.load_checkpoint(source, key))

    async def stored_calls(self) -> list[dict[str, Any]]:
        """Every call activity the store holds, after writing what is queued."""
        from hub.activity import ActivityFilter
        from hub.model import Channel

        await self.writer.flush()
        page = await self.store.activities.list(ActivityFilter(channel=Channel.CALL), limit=500)
        return cast(list[dict[str, Any]], page.items)


# ------------------------------------------------------------------ AMI server


@dataclass(slots=True, kw_only=True)
class ServerPlan:
    """What the fake PBX does on each connection (index = connection number)."""

    streams: list[bytes] = field(default_factory=list)
    banners: list[str] = field(default_factory=list)
    #: channels CoreShowChannels reports, per connection
    channels: list[list[dict[str, str]]] = field(default_factory=list)
    #: send the stream after answering this action ("Login" or "CoreShowChannels")
    stream_after: str = "Login"
    #: close the connection once the stream is sent
    drop_after_stream: list[bool] = field(default_factory=list)
    chunk_size: int = 65_536
    chunk_delay: float = 0.0
    answer_ping: bool = True
    #: the PBX's clock per connection (its Ping answers' Timestamp); default: ours
    pbx_times: list[float] = field(default_factory=list)
    filter_allowed: bool = True
    originate_response: str = "Success"
    originate_reason: str = "4"
    originate_refuse: bool = False
    #: bytes sent after the OriginateResponse (the call that follows, or its hangup)
    originate_stream: bytes = b""
    #: bytes sent between "Originate successfully queued" and the OriginateResponse
    originate_before_response: bytes = b""


class FakeAmiServer:
    """An asyncio TCP server on 127.0.0.1 that answers AMI like Asterisk 16–22."""

    def __init__(
        self, *, username: str = "hub", secret: str = "s3cret", plan: ServerPlan | None = None
    ):
        self.username = username
        self.secret = secret
        self.plan = plan or ServerPlan()
        self.host = "127.0.0.1"
        self.port = 0
        self.connections = 0
        self.logins = 0
        self.failed_logins = 0
        self.actions: list[tuple[int, list[tuple[str, str]]]] = []
        #: `Filter` actions accepted, per connection: Asterisk sends an event only if it
        #: matches a whitelist filter (when there is one) and no `!` blacklist filter.
        self.filters: dict[int, list[str]] = {}
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ami://{self.username}@{self.host}:{self.port}"

    def actions_named(self, name: str) -> list[dict[str, str]]:
        """The fields of every action called `name` received so far."""
        return [
            dict(fields) for _conn, fields in self.actions if dict(fields).get("Action") == name
        ]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 2)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def drop_all(self) -> None:
        """Cut every open connection (a network failure)."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def __aenter__(self) -> FakeAmiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = self.connections
        self.connections += 1
        self._writers.add(writer)
        plan = self.plan
        banner = plan.banners[conn] if conn < len(plan.banners) else BANNER
        challenge: str | None = None
        logged_in = False
        try:
            writer.write(f"{banner}\r\n".encode())
            await writer.drain()
            while True:
                try:
                    data = await reader.readuntil(CRLF2)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                fields = _parse_action(data)
                self.actions.append((conn, fields))
                f = dict(fields)
                name = f.get("Action", "").lower()
                aid = f.get("ActionID", "")
                if name == "challenge":
                    challenge = secrets.token_hex(8)
                    await _send(writer, _resp("Success", aid, f"Challenge: {challenge}"))
                elif name == "login":
                    if self._auth_ok(f, challenge):
                        logged_in = True
                        self.logins += 1
                        await _send(
                            writer,
                            _resp("Success", aid, "Message: Authentication accepted"),
                        )
                        await _send(
                            writer,
                            "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\n"
                            "LastReload: 5\r\nStatus: Fully Booted",
                        )
                        if plan.stream_after == "Login":
                            self._start_stream(conn, writer)
                    else:
                        self.failed_logins += 1
                        await _send(
                            writer,
                            _resp("Error", aid, "Message: Authentication failed"),
                        )
                        writer.close()
                        return
                elif not logged_in:
                    await _send(writer, _resp("Error", aid, "Message: Permission denied"))
                elif name == "ping":
                    if plan.answer_ping:
                        now = plan.pbx_times[conn] if conn < len(plan.pbx_times) else time.time()
                        await _send(
                            writer,
                            _resp("Success", aid, f"Ping: Pong\r\nTimestamp: {now:.6f}"),
                        )
                elif name == "filter":
                    if plan.filter_allowed:
                        self.filters.setdefault(conn, []).append(f.get("Filter", ""))
                        await _send(writer, _resp("Success", aid, "Message: Filter Added"))
                    else:
                        await _send(
                            writer,
                            _resp("Error", aid, "Message: Permission denied"),
                        )
                elif name == "events":
                    await _send(writer, _resp("Success", aid, "Events: On"))
                elif name == "coreshowchannels":
                    await self._core_show_channels(conn, writer, aid)
                    if plan.stream_after == "CoreShowChannels":
                        self._start_stream(conn, writer)
                elif name == "originate":
                    await self._originate(conn, writer, f)
                elif name == "logoff":
                    await _send(
                        writer,
                        _resp("Goodbye", aid, "Message: Thanks for all the fish."),
                    )
                    writer.close()
                    return
                else:
                    await _send(
                        writer,
                        _resp("Error", aid, "Message: Invalid/unknown command"),
                    )
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    def _auth_ok(self, f: dict[str, str], challenge: str | None) -> bool:
        if f.get("Username") != self.username:
            return False
        if f.get("AuthType", "").lower() == "md5":
            if challenge is None:
                return False
            expected = hashlib.md5((challenge + self.secret).encode()).hexdigest()
            return f.get("Key") == expected
        return f.get("Secret") == self.secret

    def passes(self, conn: int, frame: bytes) -> bool:
        """Whether Asterisk would send this event on connection `conn` under its filters."""
        filters = self.filters.get(conn)
        if not filters or not frame.startswith(b"Event: "):
            return True
        text = frame.decode("utf-8", "replace")
        allow = [f for f in filters if not f.startswith("!")]
        deny = [f[1:] for f in filters if f.startswith("!")]
        if allow and not any(re.search(f, text) for f in allow):
            return False
        return not any(re.search(f, text) for f in deny)

    def _filtered(self, conn: int, data: bytes) -> bytes:
        if not self.filters.get(conn):
            return data
        return b"".join(f for f in frames(data) if self.passes(conn, f))

    def _start_stream(self, conn: int, writer: asyncio.StreamWriter) -> None:
        data = self.plan.streams[conn] if conn < len(self.plan.streams) else b""
        data = self._filtered(conn, data)
        drop = conn < len(self.plan.drop_after_stream) and self.plan.drop_after_stream[conn]
        task = asyncio.create_task(self._stream(writer, data, drop))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stream(self, writer: asyncio.StreamWriter, data: bytes, drop: bool) -> None:
        step = max(1, self.plan.chunk_size)
        try:
            for i in range(0, len(data), step):
                writer.write(data[i : i + step])
                await writer.drain()
                if self.plan.chunk_delay:
                    await asyncio.sleep(self.plan.chunk_delay)
            if drop:
                writer.transport.abort()
        except ConnectionError:
            return

    async def _core_show_channels(self, conn: int, writer: asyncio.StreamWriter, aid: str) -> None:
        chans = self.plan.channels[conn] if conn < len(self.plan.channels) else []
        await _send(
            writer,
            _resp("Success", aid, "EventList: start\r\nMessage: Channels will follow"),
        )
        for h in chans:
            lines = [
                "Event: CoreShowChannel",
                f"ActionID: {aid}",
                f"Channel: {h.get('Channel', '')}",
                f"ChannelState: {h.get('ChannelState', '6')}",
                f"ChannelStateDesc: {h.get('ChannelStateDesc', 'Up')}",
                f"CallerIDNum: {h.get('CallerIDNum', '')}",
                f"CallerIDName: {h.get('CallerIDName', '')}",
                f"Context: {h.get('Context', '')}",
                f"Exten: {h.get('Exten', '')}",
                f"Uniqueid: {h['Uniqueid']}",
                f"Linkedid: {h.get('Linkedid', h['Uniqueid'])}",
                f"BridgeId: {h.get('BridgeId', '')}",
                f"Application: {h.get('Application', 'Dial')}",
                f"Duration: {h.get('Duration', '00:00:07')}",
            ]
            await _send(writer, "\r\n".join(lines))
        await _send(
            writer,
            f"Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\n"
            f"ListItems: {len(chans)}",
        )

    async def _originate(self, conn: int, writer: asyncio.StreamWriter, f: dict[str, str]) -> None:
        aid = f.get("ActionID", "")
        plan = self.plan
        if plan.originate_refuse:
            await _send(writer, _resp("Error", aid, "Message: Originate failed"))
            return
        await _send(
            writer,
            _resp("Success", aid, "Message: Originate successfully queued"),
        )
        await asyncio.sleep(0.01)
        ok = plan.originate_response == "Success"
        if plan.originate_before_response:
            writer.write(self._filtered(conn, plan.originate_before_response))
        event = "\r\n".join(
                [
                    "Event: OriginateResponse",
                    "Privilege: call,all",
                    f"ActionID: {aid}",
                    f"Response: {plan.originate_response}",
                    f"Channel: {f.get('Channel', '')}{'-00000001' if ok else ''}",
                    f"Context: {f.get('Context', '')}",
                    f"Exten: {f.get('Exten', '')}",
                    f"Reason: {plan.originate_reason}",
                    f"Uniqueid: {'1795000000.1' if ok else '<unknown>'}",
                    "CallerIDNum: <unknown>",
                    "CallerIDName: <unknown>",
                ]
            )
        if self.passes(conn, (event + "\r\n\r\n").encode()):
            await _send(writer, event)
        if plan.originate_stream:
            writer.write(self._filtered(conn, plan.originate_stream))
            await writer.drain()


def _resp(response: str, aid: str, rest: str) -> str:
    return f"Response: {response}\r\nActionID: {aid}\r\n{rest}"


def _parse_action(data: bytes) -> list[tuple[str, str]]:
    fields = []
    for line in data.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            fields.append((key, value))
    return fields


async def _send(writer: asyncio.StreamWriter, text: str) -> None:
    writer.write(text.encode("utf-8") + CRLF2)
    await writer.drain()


def refused_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def outage_plan(rec: Recording) -> ServerPlan:
    """A server that plays an outage recording: the first connection's events, then a drop;
    the second answers CoreShowChannels as recorded and plays the rest."""
    before, after = rec.sessions()
    listed = [
        f
        for f in frames(after)
        if b"ActionID: b-chans-list" in f or f.startswith(b"Response: Success\r\nActionID: rec")
    ]
    channels = []
    for frame in listed:
        if frame.startswith(b"Event: CoreShowChannel\r\n"):
            text = frame.decode("utf-8").strip()
            channels.append(dict(line.split(": ", 1) for line in text.split("\r\n") if ": " in line))
    rest = b"".join(f for f in frames(events_only(after)) if f not in listed)
    return ServerPlan(
        streams=[events_only(before), rest],
        channels=[[], channels],
        drop_after_stream=[True, False],
        stream_after="CoreShowChannels",
    )
