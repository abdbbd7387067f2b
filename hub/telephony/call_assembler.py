"""Sans-IO call assembler: AMI events in, finished calls out, keyed by Linkedid.

Works from channel, dial and bridge events only (Asterisk 16–22), so PBXs without
`timestampevents`, CDR or CEL give the same calls. "Who answered" is the extension last
bridged with the client's trunk leg, which covers ring groups, queues, pickups and
transfers without knowing the dialplan. Memory is bounded: channels are dropped at
Hangup, calls at their end, and the oldest call is closed when too many are in flight.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub.model import Direction, Status
from hub.telephony.ami_protocol import AmiMessage
from hub.text import is_ascii_int

#: A call with no event for this long is closed and flagged unclosed.
DEFAULT_UNCLOSED_AFTER_S = 4 * 3600.0
#: Calls in flight before the oldest one is closed (memory bound).
DEFAULT_MAX_CALLS = 20_000
#: Linkedids remembered after their end, so late events do not start a ghost call.
RECENTLY_FINISHED = 8_192
#: Transfers kept per call (memory bound against a looping dialplan).
MAX_TRANSFERS = 32

#: What a client's number dialled by click-to-call looks like (an Originate's `Exten`).
_PHONE_RE = re.compile(r"^\+?\d{5,20}$")
UNKNOWN_VALUES = frozenset({"", "<unknown>", "unknown", "none", "<none>", "anonymous"})
BLIND = "blind"
ATTENDED = "attended"

#: Dial statuses of an outbound trunk leg → outcome.
_OUT_DIAL_STATUS: dict[str, Status] = {
    "BUSY": Status.BUSY,
    "NOANSWER": Status.NO_ANSWER,
    "CANCEL": Status.NO_ANSWER,
    "CONGESTION": Status.FAILED,
    "CHANUNAVAIL": Status.FAILED,
    "INVALIDARGS": Status.FAILED,
    "DONTCALL": Status.FAILED,
    "TORTURE": Status.FAILED,
}
#: Q.850 hangup causes → dial status, for legs whose DialEnd was never seen.
_CAUSE_DIAL_STATUS: dict[str, str] = {
    "17": "BUSY",
    "18": "NOANSWER",
    "19": "NOANSWER",
    "21": "CHANUNAVAIL",
    "1": "CHANUNAVAIL",
    "3": "CHANUNAVAIL",
    "27": "CHANUNAVAIL",
    "28": "CHANUNAVAIL",
    "34": "CONGESTION",
    "38": "CONGESTION",
    "42": "CONGESTION",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class AssemblerConfig:
    """What tells an extension from a trunk, and the memory/time bounds."""

    internal_pattern: str = r"^\d{2,4}$"
    trunk_pattern: str = r"(?i)^(SIP|PJSIP|IAX2)/(trunk|provider)|@from-trunk"
    trunk_context_pattern: str | None = None
    unclosed_after_s: float = DEFAULT_UNCLOSED_AFTER_S
    max_calls: int = DEFAULT_MAX_CALLS


class ChannelKinds:
    """Tells a trunk (the client's side) from an extension, by channel name and context:
    the one rule live capture and the CDR reader share."""

    def __init__(self, config: AssemblerConfig) -> None:
        self.internal = re.compile(config.internal_pattern)
        self._trunk = re.compile(config.trunk_pattern)
        self._trunk_ctx = (
            re.compile(config.trunk_context_pattern) if config.trunk_context_pattern else None
        )

    def is_trunk(self, name: str, context: str | None = None) -> bool:
        """Whether channel `name` (in dialplan `context`) is the outside world's."""
        if name and self._trunk.search(name):
            return True
        return bool(self._trunk_ctx and context and self._trunk_ctx.search(context))

    def is_internal(self, number: str | None) -> bool:
        """Whether `number` is one of our extensions."""
        return bool(number) and self.internal.search(number or "") is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer:
    """One hand-over of the client from one extension to another (or outside)."""

    source: str
    target: str
    kind: str

    def as_dict(self) -> dict[str, str]:
        """The `{"from", "to", "kind"}` form used in metadata and replay output."""
        return {"from": self.source, "to": self.target, "kind": self.kind}


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishedCall:
    """Everything known about one call once it ended (or was closed)."""

    linkedid: str
    direction: Direction
    status: Status
    counterpart: str | None
    counterpart_name: str | None = None
    counterpart_extension: str | None = None
    employee: str | None = None
    extensions_rung: tuple[str, ...] = ()
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_seconds: float | None = None
    talk_seconds: float | None = None
    queue_wait_seconds: float | None = None
    recording: str | None = None
    transfers: tuple[Transfer, ...] = ()
    unclosed: bool = False
    reconciled: bool = False
    backfilled: bool = False
    #: What could not be known, in words (e.g. an answer time lost in an outage).
    notes: tuple[str, ...] = ()

    def as_replay_dict(self) -> dict[str, Any]:
        """The line `touchhub ami replay` prints for this call."""
        out: dict[str, Any] = {
            "external_id": self.linkedid,
            "direction": self.direction.value,
            "status": self.status.value,
            "counterpart": self.counterpart if self.direction is not Direction.INTERNAL else None,
        }
        if self.employee is not None:
            out["employee"] = self.employee
        out.update(
            {
                "extensions_rung": list(self.extensions_rung),
                "started_at": _iso(self.started_at),
                "answered_at": _iso(self.answered_at),
                "ended_at": _iso(self.ended_at),
                "ring_seconds": self.ring_seconds,
                "talk_seconds": self.talk_seconds,
                "recording": self.recording,
                "transfers": [t.as_dict() for t in self.transfers],
            }
        )
        if self.queue_wait_seconds is not None:
            out["queue_wait_seconds"] = self.queue_wait_seconds
        if self.unclosed:
            out["unclosed"] = True
        if self.reconciled:
            out["reconciled"] = True
        if self.backfilled:
            out["backfilled"] = True
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dt(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _known(value: str | None) -> str | None:
    if value is None or value.lower() in UNKNOWN_VALUES:
        return None
    return value


def device_of(channel: str) -> str:
    """The device part of a channel name: `PJSIP/101-0000000b` → 101, `Local/101@ctx-1;1` → 101."""
    tech, _, rest = channel.partition("/")
    if not rest:
        return channel
    if tech == "Local":
        return rest.partition("@")[0]
    base, dash, _suffix = rest.rpartition("-")
    return base if dash else rest


class _Channel:
    """Mutable state of one live channel (internal; one per Uniqueid)."""

    __slots__ = (
        "bridge",
        "cid_name",
        "cid_num",
        "dial_status",
        "dialed",
        "is_trunk",
        "linkedid",
        "name",
        "originated",
        "state",
        "uniqueid",
    )

    def __init__(self, uniqueid: str, name: str, linkedid: str, is_trunk: bool) -> None:
        self.uniqueid = uniqueid
        self.name = name
        self.linkedid = linkedid
        self.is_trunk = is_trunk
        self.cid_num: str | None = None
        self.cid_name: str | None = None
        self.state = ""
        self.dialed = False
        self.dial_status: str | None = None
        self.bridge: str | None = None
        self.originated = False


@dataclass(slots=True)
class _Call:
    """Mutable state of one call in flight (internal)."""

    linkedid: str
    started: float | None
    last_seen: float | None
    origin: _Channel | None = None
    channels: set[str] = field(default_factory=set)
    has_trunk: bool = False
    out_number: str | None = None
    trunk_status: str | None = None
    caller_ext: str | None = None
    rung: dict[str, str | None] = field(default_factory=dict)
    answered_ext: bool = False
    answered_ext_at: float | None = None
    answered_trunk: bool = False
    answered_trunk_at: float | None = None
    answer_ext: str | None = None
    talk_ext: str | None = None
    talk_ext_at: float | None = None
    paired: bool = False
    paired_at: float | None = None
    ended: float | None = None
    hangups: int = 0
    in_queue: bool = False
    queue_join: float | None = None
    queue_wait: float | None = None
    queue_hold: float | None = None
    recording: str | None = None
    transfers: list[Transfer] = field(default_factory=list)
    reconciled: bool = False
    #: Picked up into this Linkedid: the picker's own first Linkedid is not a call.
    picked_into: str | None = None
    #: A click-to-call (Originate) to this number, known from its OriginateResponse.
    originate_number: str | None = None
    #: Already running when we (re)connected: its answer time was not seen.
    adopted: bool = False
    #: Its channels vanished while we were disconnected: its end was not seen.
    lost_end: bool = False
    #: Start/answer/end from the PBX's own call record (`Event: Cdr`), whole seconds.
    cdr_start: float | None = None
    cdr_answer: float | None = None
    cdr_end: float | None = None


Handler = Callable[["CallAssembler", dict[str, str], "float | None"], None]
_NOTHING: tuple[FinishedCall, ...] = ()


class CallAssembler:
    """Feed AMI events with `feed()`; it returns the calls those events finished."""

    def __init__(self, config: AssemblerConfig | None = None) -> None:
        self.config = config or AssemblerConfig()
        self._kinds = ChannelKinds(self.config)
        self._internal = self._kinds.internal
        self._calls: dict[str, _Call] = {}
        self._channels: dict[str, _Channel] = {}
        self._bridges: dict[str, dict[str, None]] = {}
        self._recent: dict[str, None] = {}
        self._finished: list[FinishedCall] = []
        #: (tech, device) → (sequence, Q.850 cause) of its latest Hangup, for click-to-call
        #: to tell a busy employee phone from a missing one (Asterisk says Reason 0 for both).
        self._hangups: dict[tuple[str, str], tuple[int, str]] = {}
        self._hangup_seq = 0

    # ------------------------------------------------------------------ public

    @property
    def calls_in_flight(self) -> int:
        """How many calls are open now."""
        return len(self._calls)

    @property
    def channels_in_flight(self) -> int:
        """How many channels are tracked now."""
        return len(self._channels)

    def feed(self, message: AmiMessage, at: float | None = None) -> Sequence[FinishedCall]:
        """Apply one AMI message; `at` is the receive time used when it has no Timestamp."""
        headers = message.headers
        handler = _HANDLERS.get(headers.get("Event", ""))
        if handler is None:
            return _NOTHING
        stamp = headers.get("Timestamp")
        handler(self, headers, float(stamp) if stamp else at)
        if not self._finished:
            return _NOTHING
        done, self._finished = self._finished, []
        return done

    def expire(self, now: float) -> list[FinishedCall]:
        """Close calls with no event for `unclosed_after_s` seconds (their Hangup was lost)."""
        limit = now - self.config.unclosed_after_s
        stale = [c for c in self._calls.values() if c.last_seen is not None and c.last_seen < limit]
        for call in stale:
            self._finish(call, unclosed=True)
        done, self._finished = self._finished, []
        return done

    def close_all(self) -> list[FinishedCall]:
        """Close every open call as unclosed (end of a replay, shutdown)."""
        for call in list(self._calls.values()):
            self._finish(call, unclosed=True)
        done, self._finished = self._finished, []
        return done

    def reconcile(self, live: Iterable[AmiMessage], now: float | None) -> list[FinishedCall]:
        """Apply a `CoreShowChannels` snapshot taken after a reconnect.

        Channels we track that are gone ended during the outage: their calls end at a time
        we did not see (a CDR backfill can tell it). Live channels we do not know started
        before we connected: their start comes from `Duration` (whole seconds), their
        answer time is unknown unless the PBX's call record (`Event: Cdr`) tells it later.
        `now` is None when replaying a stream without timestamps.
        """
        seen: dict[str, AmiMessage] = {}
        for msg in live:
            uid = msg.get("Uniqueid")
            if uid and msg.event == "CoreShowChannel":
                seen[uid] = msg
        for uid, gone in list(self._channels.items()):
            if uid not in seen:
                call = self._calls.get(gone.linkedid)
                if call is not None:
                    call.reconciled = call.lost_end = True
                self._drop_channel(gone, None)
        for uid, msg in seen.items():
            if uid in self._channels:
                continue
            h = msg.headers
            started = None if now is None else now - _duration(h.get("Duration"))
            channel = self._channel(h, started)
            if channel is None:
                continue
            call = self._calls[channel.linkedid]
            call.reconciled = call.adopted = True
            state = h.get("ChannelStateDesc", "")
            channel.state = state
            if not channel.is_trunk and h.get("Application") == "AppDial":
                channel.dialed = True  # a phone that was rung, not the one dialling
                ext = self._ext(channel)
                if ext is not None:
                    call.rung[ext] = "ANSWER" if state == "Up" else None
            bridge = h.get("BridgeId") or h.get("BridgeID")
            if bridge:
                self._enter_bridge(channel, bridge, None)
            elif state == "Up" and channel is not call.origin and not channel.is_trunk:
                self._mark_answer(call, channel, None)
        done, self._finished = self._finished, []
        return done

    @property
    def hangup_mark(self) -> int:
        """A mark to pass to `hangup_cause_since` (the Hangups seen so far)."""
        return self._hangup_seq

    def hangup_cause_since(self, channel: str, mark: int) -> str | None:
        """The Q.850 cause of the latest Hangup of `channel`'s device after `mark`, if any."""
        seen = self._hangups.get((channel.partition("/")[0], device_of(channel)))
        return seen[1] if seen is not None and seen[0] > mark else None

    def knows(self, linkedid: str) -> bool:
        """Whether a call is in flight or recently finished here (a backfill skips it)."""
        return linkedid in self._calls or linkedid in self._recent

    def live_state(self) -> dict[str, str]:
        """Extension → "ringing" or "talking", from the channels up now."""
        out: dict[str, str] = {}
        for channel in self._channels.values():
            ext = self._ext(channel)
            if ext is None:
                continue
            talking = channel.state == "Up" or (not channel.dialed and channel.state != "Ringing")
            if talking:
                out[ext] = "talking"
            else:
                out.setdefault(ext, "ringing")
        return out

    # ----------------------------------------------------------- channel model

    def _is_trunk(self, name: str, context: str | None) -> bool:
        return self._kinds.is_trunk(name, context)

    def _ext(self, channel: _Channel) -> str | None:
        """The extension a channel belongs to: a rung phone by its device name first,
        a dialling phone by its caller id first (Local channels carry the number dialled)."""
        if channel.is_trunk:
            return None
        device = device_of(channel.name)
        first, second = (device, channel.cid_num) if channel.dialed else (channel.cid_num, device)
        internal = self._internal.search
        if first and internal(first):
            return first
        if second and internal(second):
            return second
        return None

    def _channel(self, h: Mapping[str, str], t: float | None, prefix: str = "") -> _Channel | None:
        """The channel an event is about, registering it (and its call) when new."""
        uid = h.get(prefix + "Uniqueid")
        if uid is None:
            return None
        linkedid = h.get(prefix + "Linkedid") or uid
        channel = self._channels.get(uid)
        if channel is None:
            if linkedid in self._recent or uid == "none":
                return None
            name = h.get(prefix + "Channel", "")
            channel = _Channel(uid, name, linkedid, self._is_trunk(name, h.get(prefix + "Context")))
            self._channels[uid] = channel
            call = self._calls.get(linkedid)
            if call is None:
                call = self._new_call(linkedid, t)
            self._join(call, channel)
        elif channel.linkedid != linkedid:
            self._move(channel, linkedid, t)
        cid = h.get(prefix + "CallerIDNum")
        if cid is not None and cid != channel.cid_num and _known(cid):
            channel.cid_num = cid
            cid_name = _known(h.get(prefix + "CallerIDName"))
            if cid_name:
                channel.cid_name = cid_name
        call = self._calls.get(channel.linkedid)
        if call is not None and t is not None:
            if call.started is None or t < call.started:
                call.started = t
            if call.last_seen is None or t > call.last_seen:
                call.last_seen = t
        return channel

    def _new_call(self, linkedid: str, t: float | None) -> _Call:
        if len(self._calls) >= self.config.max_calls:
            oldest = next(iter(self._calls.values()))
            self._finish(oldest, unclosed=True)
        call = _Call(linkedid=linkedid, started=t, last_seen=t)
        self._calls[linkedid] = call
        return call

    def _join(self, call: _Call, channel: _Channel) -> None:
        call.channels.add(channel.uniqueid)
        if channel.is_trunk:
            call.has_trunk = True
        if call.origin is None or (
            channel.uniqueid == call.linkedid and call.origin.uniqueid != call.linkedid
        ):
            call.origin = channel

    def _move(self, channel: _Channel, linkedid: str, t: float | None) -> None:
        """A channel whose Linkedid changed (bridged into an older call): move it over."""
        old = self._calls.get(channel.linkedid)
        channel.linkedid = linkedid
        new = self._calls.get(linkedid) or self._new_call(linkedid, t)
        self._join(new, channel)
        if old is not None:
            old.channels.discard(channel.uniqueid)
            if not old.channels:
                if old.adopted and old.origin is channel:
                    # Adopted after a reconnect from this one channel, which now shows it
                    # belongs to `linkedid` (a picker whose Pickup we did not see): its
                    # first Linkedid was never a call of its own.
                    old.picked_into = linkedid
                self._finish(old)

    def _drop_channel(self, channel: _Channel, t: float | None) -> None:
        self._channels.pop(channel.uniqueid, None)
        self._leave_bridge(channel)
        call = self._calls.get(channel.linkedid)
        if call is None:
            return
        call.channels.discard(channel.uniqueid)
        call.hangups += 1
        if t is not None and (call.ended is None or t > call.ended):
            call.ended = t
        if not call.channels:
            self._finish(call)

    # ----------------------------------------------------------------- bridges

    def _enter_bridge(self, channel: _Channel, bridge_id: str, t: float | None) -> None:
        self._leave_bridge(channel)
        members = self._bridges.setdefault(bridge_id, {})
        members[channel.uniqueid] = None
        channel.bridge = bridge_id
        channel.state = "Up"
        others = [
            self._channels[u] for u in members if u != channel.uniqueid and u in self._channels
        ]
        if channel.is_trunk:
            for other in reversed(others):
                ext = self._ext(other)
                if ext is not None:
                    self._pair(channel, ext, t)
                    break
        else:
            ext = self._ext(channel)
            if ext is not None:
                for other in others:
                    if other.is_trunk:
                        self._pair(other, ext, t)

    def _pair(self, trunk: _Channel, ext: str, t: float | None) -> None:
        """The client's leg `trunk` now talks with extension `ext`."""
        call = self._calls.get(trunk.linkedid)
        if call is None:
            return
        call.talk_ext = ext
        call.talk_ext_at = t
        if not call.paired:
            call.paired = True
            call.paired_at = t

    def _leave_bridge(self, channel: _Channel) -> None:
        bridge_id = channel.bridge
        if bridge_id is None:
            return
        channel.bridge = None
        members = self._bridges.get(bridge_id)
        if members is not None:
            members.pop(channel.uniqueid, None)
            if not members:
                del self._bridges[bridge_id]

    def _mark_answer(self, call: _Call, dest: _Channel, t: float | None) -> None:
        if dest.is_trunk:
            if not call.answered_trunk:
                call.answered_trunk, call.answered_trunk_at = True, t
            return
        ext = self._ext(dest)
        if not call.answered_ext:
            call.answered_ext, call.answered_ext_at = True, t
        if ext is not None:
            call.answer_ext = ext

    # ---------------------------------------------------------------- handlers

    def _on_channel(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        if channel is not None:
            channel.state = h.get("ChannelStateDesc", channel.state)

    def _on_dial_begin(self, h: dict[str, str], t: float | None) -> None:
        dest = self._channel(h, t, "Dest")
        if dest is None:
            return
        if "Channel" not in h:
            dest.originated = True  # Originate's own leg: the caller's phone, not one that rang
            return
        caller = self._channel(h, t)
        call = self._calls.get(dest.linkedid)
        if call is None:
            return
        dest.dialed = True
        dest.dial_status = None
        if caller is not None and call.caller_ext is None and not caller.is_trunk:
            call.caller_ext = self._ext(caller)
        if dest.is_trunk:
            if call.out_number is None:
                call.out_number = (
                    _known(h.get("DestCallerIDNum"))
                    or _known(h.get("DestExten"))
                    or _dialled_number(h.get("DialString", ""))
                )
            return
        ext = self._ext(dest)
        if ext is not None and ext != call.caller_ext:
            call.rung[ext] = None

    def _on_dial_end(self, h: dict[str, str], t: float | None) -> None:
        dest = self._channel(h, t, "Dest")
        if dest is None or "Channel" not in h:
            return
        call = self._calls.get(dest.linkedid)
        if call is None:
            return
        status = h.get("DialStatus", "")
        if dest.dial_status is None or dest.dial_status == "NOANSWER":
            dest.dial_status = status
        if status == "ANSWER":
            dest.dial_status = status
            dest.state = "Up"
            self._mark_answer(call, dest, t)
        if dest.is_trunk:
            call.trunk_status = dest.dial_status
        else:
            ext = self._ext(dest)
            if ext is not None and ext in call.rung:
                call.rung[ext] = dest.dial_status

    def _on_bridge_enter(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        bridge = h.get("BridgeUniqueid")
        if channel is not None and bridge:
            self._enter_bridge(channel, bridge, t)

    def _on_bridge_leave(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        if channel is not None:
            self._leave_bridge(channel)

    def _on_hangup(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        if channel is None:
            return
        self._hangup_seq += 1
        key = (channel.name.partition("/")[0], device_of(channel.name))
        self._hangups.pop(key, None)
        self._hangups[key] = (self._hangup_seq, h.get("Cause", ""))
        if len(self._hangups) > RECENTLY_FINISHED:
            del self._hangups[next(iter(self._hangups))]
        call = self._calls.get(channel.linkedid)
        if call is not None and channel.dialed and channel.dial_status is None:
            fallback = _CAUSE_DIAL_STATUS.get(h.get("Cause", ""), "NOANSWER")
            channel.dial_status = fallback
            if channel.is_trunk:
                call.trunk_status = call.trunk_status or fallback
            else:
                ext = self._ext(channel)
                if ext is not None and ext in call.rung and call.rung[ext] is None:
                    call.rung[ext] = fallback
        if call is not None and channel.is_trunk and channel.dialed and call.out_number is None:
            call.out_number = channel.cid_num
        self._drop_channel(channel, t)

    def _on_rename(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channels.get(h.get("Uniqueid", ""))
        if channel is not None:
            channel.name = h.get("Newname", channel.name)

    def _on_blind_transfer(self, h: dict[str, str], t: float | None) -> None:
        if h.get("Result", "Success") != "Success":
            return
        transferee = self._channel(h, t, "Transferee")
        transferer = self._channel(h, t, "Transferer")
        if transferee is None:
            return
        call = self._calls.get(transferee.linkedid)
        target = h.get("Extension", "")
        source = self._ext(transferer) if transferer is not None else None
        if call is not None and target and len(call.transfers) < MAX_TRANSFERS:
            call.transfers.append(Transfer(source=source or "", target=target, kind=BLIND))

    def _on_attended_transfer(self, h: dict[str, str], t: float | None) -> None:
        if h.get("Result", "Success") != "Success":
            return
        transferee = self._channel(h, t, "Transferee")
        source_channel = self._channel(h, t, "OrigTransferer")
        target_channel = self._channel(h, t, "TransferTarget")
        call = None
        if transferee is not None:
            call = self._calls.get(transferee.linkedid)
        elif source_channel is not None:
            call = self._calls.get(source_channel.linkedid)
        if call is None or len(call.transfers) >= MAX_TRANSFERS:
            return
        source = self._ext(source_channel) if source_channel is not None else None
        target = self._ext(target_channel) if target_channel is not None else None
        if target is None and target_channel is not None:
            target = target_channel.cid_num or device_of(target_channel.name)
        if target:
            call.transfers.append(Transfer(source=source or "", target=target, kind=ATTENDED))
            call.talk_ext = target if self._internal.search(target) else call.talk_ext
            call.talk_ext_at = t

    def _on_queue_join(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        call = self._calls.get(channel.linkedid) if channel is not None else None
        if call is not None and not call.in_queue:
            call.in_queue, call.queue_join = True, t

    def _on_queue_leave(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        call = self._calls.get(channel.linkedid) if channel is not None else None
        if call is None or not call.in_queue:
            return
        call.in_queue = False
        if t is not None and call.queue_join is not None:
            call.queue_wait = (call.queue_wait or 0.0) + max(0.0, t - call.queue_join)

    def _on_agent_connect(self, h: dict[str, str], t: float | None) -> None:
        channel = self._channel(h, t)
        call = self._calls.get(channel.linkedid) if channel is not None else None
        hold = h.get("HoldTime", "")
        if call is not None and is_ascii_int(hold):
            call.queue_hold = (call.queue_hold or 0.0) + float(hold)

    def _on_pickup(self, h: dict[str, str], t: float | None) -> None:
        """A phone picked up another's ringing call: its own Linkedid was never a call."""
        picker = self._channel(h, t)
        target = h.get("TargetLinkedid")
        if picker is None or not target or target == picker.linkedid:
            return
        own = self._calls.get(picker.linkedid)
        if own is not None:
            own.picked_into = target

    def _on_originate_response(self, h: dict[str, str], t: float | None) -> None:
        """Click-to-call's outcome names the client's number (its `Exten`) for the call.

        On success `Uniqueid` is the employee's leg; on failure it is `<unknown>` and
        `Channel` is the bare device (`PJSIP/101`), so the newest Originate leg of that
        device still in flight is the call.
        """
        number = _known(h.get("Exten"))
        if number is None or not _PHONE_RE.match(number) or self._internal.search(number):
            return  # an Originate into the dialplan (a test harness, an IVR), not a client
        leg = self._channels.get(h.get("Uniqueid") or "")
        if leg is None:
            name = h.get("Channel", "")
            tech = name.partition("/")[0]
            device = device_of(name)
            legs = [
                c
                for c in self._channels.values()
                if c.originated and c.name.partition("/")[0] == tech and device_of(c.name) == device
            ]
            leg = legs[-1] if legs else None
        call = self._calls.get(leg.linkedid) if leg is not None else None
        if call is not None and call.originate_number is None:
            call.originate_number = number

    def _on_cdr(self, h: dict[str, str], t: float | None) -> None:
        """The PBX's own record of a call (cdr_manager): times for what we did not see."""
        channel = self._channels.get(h.get("UniqueID") or h.get("Uniqueid") or "")
        call = self._calls.get(channel.linkedid) if channel is not None else None
        if call is None:
            return
        start, answer, end = (
            _cdr_time(h.get(k)) for k in ("StartTime", "AnswerTime", "EndTime")
        )
        if start is not None and (call.cdr_start is None or start < call.cdr_start):
            call.cdr_start = start
        if answer is not None and (call.cdr_answer is None or answer < call.cdr_answer):
            call.cdr_answer = answer
        if end is not None and (call.cdr_end is None or end > call.cdr_end):
            call.cdr_end = end

    def _on_varset(self, h: dict[str, str], t: float | None) -> None:
        if h.get("Variable") != "MIXMONITOR_FILENAME":
            return
        channel = self._channel(h, t)
        call = self._calls.get(channel.linkedid) if channel is not None else None
        value = h.get("Value", "")
        if call is not None and value:
            call.recording = value.rpartition("/")[2]

    # ---------------------------------------------------------------- closing

    def _finish(self, call: _Call, *, unclosed: bool = False) -> None:
        self._calls.pop(call.linkedid, None)
        self._recent[call.linkedid] = None
        if len(self._recent) > RECENTLY_FINISHED:
            del self._recent[next(iter(self._recent))]
        for uid in call.channels:
            channel = self._channels.pop(uid, None)
            if channel is not None:
                self._leave_bridge(channel)
        call.channels.clear()
        if call.picked_into is not None:
            return  # the picker's dialling of the pickup code, now part of the picked call
        self._finished.append(self._summarise(call, unclosed))

    def _summarise(self, call: _Call, unclosed: bool) -> FinishedCall:
        origin = call.origin
        rung = tuple(sorted(call.rung))
        if origin is not None and origin.is_trunk:
            direction = Direction.IN
        elif call.has_trunk or call.originate_number is not None:
            direction = Direction.OUT  # a click-to-call is outbound even if it never left
        else:
            direction = Direction.INTERNAL
        caller_ext = call.caller_ext or (self._ext(origin) if origin is not None else None)
        counterpart: str | None = None
        counterpart_name: str | None = None
        counterpart_ext: str | None = None
        employee: str | None
        if direction is Direction.IN:
            answered = call.answered_ext or call.paired or call.answered_trunk
            answered_at = _first(
                (call.answered_ext, call.answered_ext_at),
                (call.paired, call.paired_at),
                (call.answered_trunk, call.answered_trunk_at),
            )
            if origin is not None:
                counterpart, counterpart_name = origin.cid_num, origin.cid_name
            employee = call.talk_ext or call.answer_ext
            if answered:
                status = Status.ANSWERED
            else:
                employee = rung[0] if len(rung) == 1 else None
                statuses = list(call.rung.values())
                status = (
                    Status.BUSY
                    if statuses and all(s == "BUSY" for s in statuses)
                    else Status.MISSED
                )
        elif direction is Direction.OUT:
            answered = call.answered_trunk or call.paired
            answered_at = _first(
                (call.answered_trunk, call.answered_trunk_at), (call.paired, call.paired_at)
            )
            counterpart = call.out_number or call.originate_number
            employee = call.talk_ext or caller_ext
            if answered:
                status = Status.ANSWERED
            else:
                status = _OUT_DIAL_STATUS.get(call.trunk_status or "", Status.FAILED)
        else:
            answered = call.answered_ext
            answered_at = call.answered_ext_at
            employee = caller_ext
            counterpart_ext = call.answer_ext or (rung[0] if len(rung) == 1 else None)
            if answered:
                status = Status.ANSWERED
            else:
                statuses = [s or "NOANSWER" for s in call.rung.values()]
                if statuses and all(s == "BUSY" for s in statuses):
                    status = Status.BUSY
                elif statuses and all(s in _FAILED_DIAL for s in statuses):
                    status = Status.FAILED
                else:
                    status = Status.NO_ANSWER
        ended = call.ended if call.ended is not None else call.last_seen
        started = call.started
        notes: list[str] = []
        if call.adopted:
            if call.cdr_start is not None:
                started = call.cdr_start
            if answered and answered_at is None:
                answered_at = call.cdr_answer
                if answered_at is None:
                    notes.append(
                        "already talking when the PBX connection was (re)established: "
                        "answer time unknown"
                    )
        if call.lost_end:
            if call.cdr_end is not None:
                ended = call.cdr_end
            else:
                seen = _iso(_dt(call.last_seen))
                notes.append(
                    "ended while the PBX connection was down"
                    + (f", after {seen}" if seen else "")
                    + ": end time unknown"
                )
                ended = None
        ring = talk = None
        if started is not None:
            if answered and answered_at is not None:
                ring = round(max(0.0, answered_at - started), 1)
            elif ended is not None:
                ring = round(max(0.0, ended - started), 1)
        if answered and answered_at is not None and ended is not None:
            talk = round(max(0.0, ended - answered_at), 1)
        elif not answered:
            talk = 0.0
        wait = call.queue_wait if call.queue_wait is not None else call.queue_hold
        queue_wait = None if wait is None else round(wait, 1)
        return FinishedCall(
            linkedid=call.linkedid,
            direction=direction,
            status=status,
            counterpart=counterpart,
            counterpart_name=counterpart_name,
            counterpart_extension=counterpart_ext,
            employee=employee,
            extensions_rung=rung,
            started_at=_dt(started),
            answered_at=_dt(answered_at) if answered else None,
            ended_at=_dt(ended),
            ring_seconds=ring,
            talk_seconds=talk,
            queue_wait_seconds=queue_wait,
            recording=call.recording,
            transfers=tuple(call.transfers),
            unclosed=unclosed,
            reconciled=call.reconciled,
            notes=tuple(notes),
        )


_FAILED_DIAL = frozenset({"CHANUNAVAIL", "CONGESTION", "INVALIDARGS", "DONTCALL"})


def _first(*candidates: tuple[bool, float | None]) -> float | None:
    for happened, at in candidates:
        if happened:
            return at
    return None


def _duration(value: str | None) -> float:
    """`HH:MM:SS` (CoreShowChannel Duration) in seconds; 0 when absent or odd."""
    if not value:
        return 0.0
    try:
        parts = [int(p) for p in value.split(":")]
    except ValueError:
        return 0.0
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + part
    return float(seconds)


def _cdr_time(value: str | None) -> float | None:
    """`YYYY-MM-DD HH:MM:SS` of a CDR (UTC, as `usegmtime` writes it) as epoch seconds."""
    if not value:
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _dialled_number(dial_string: str) -> str | None:
    """The number in a DialString: `+7495…@provider`, `provider/8495…`, `trunk/sip:N@host`."""
    value = dial_string.rpartition("/")[2] if "@" not in dial_string else dial_string
    value = value.partition("@")[0]
    if value.startswith("sip:"):
        value = value[4:]
    return value or None


#: AMI events the assembler reads; the parser may skip the rest unparsed.
ASSEMBLER_EVENTS: frozenset[str]

_HANDLERS: dict[str, Handler] = {
    "Newchannel": CallAssembler._on_channel,
    "Newstate": CallAssembler._on_channel,
    "NewCallerid": CallAssembler._on_channel,
    "NewConnectedLine": CallAssembler._on_channel,
    "DialBegin": CallAssembler._on_dial_begin,
    "DialEnd": CallAssembler._on_dial_end,
    "BridgeEnter": CallAssembler._on_bridge_enter,
    "BridgeLeave": CallAssembler._on_bridge_leave,
    "Hangup": CallAssembler._on_hangup,
    "Rename": CallAssembler._on_rename,
    "BlindTransfer": CallAssembler._on_blind_transfer,
    "AttendedTransfer": CallAssembler._on_attended_transfer,
    "QueueCallerJoin": CallAssembler._on_queue_join,
    "QueueCallerLeave": CallAssembler._on_queue_leave,
    "QueueCallerAbandon": CallAssembler._on_queue_leave,
    "AgentConnect": CallAssembler._on_agent_connect,
    "VarSet": CallAssembler._on_varset,
    "Pickup": CallAssembler._on_pickup,
    "OriginateResponse": CallAssembler._on_originate_response,
    "Cdr": CallAssembler._on_cdr,
}
ASSEMBLER_EVENTS = frozenset(_HANDLERS)
