"""Replay of raw AMI bytes (as read from the socket) into finished calls, for backfill and tests."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.telephony.ami_protocol import DEFAULT_FALLBACK_ENCODING, AmiGarbage, AmiMessage, AmiParser
from hub.telephony.backfill import close_gap
from hub.telephony.call_assembler import (
    ASSEMBLER_EVENTS,
    AssemblerConfig,
    CallAssembler,
    FinishedCall,
)

#: What a session replay reads beyond the assembler's events: the reconnect's channel list
#: and the login events whose Timestamp says when the connection came back.
SESSION_EVENTS = ASSEMBLER_EVENTS | {
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "SuccessfulAuth",
    "FullyBooted",
}

logger = logging.getLogger(__name__)

#: Bytes handed to the parser at a time, like socket reads.
REPLAY_CHUNK_BYTES = 65_536


@dataclass(slots=True)
class ReplayStats:
    """What a replay went through: frames, garbage and events the assembler refused."""

    messages: int = 0
    garbage: list[AmiGarbage] = field(default_factory=list)
    refused: list[tuple[AmiMessage, str]] = field(default_factory=list)


def replay(
    chunks: Iterable[bytes],
    config: AssemblerConfig | None = None,
    *,
    fallback_encoding: str = DEFAULT_FALLBACK_ENCODING,
    stats: ReplayStats | None = None,
    close_open: bool = True,
) -> Iterator[FinishedCall]:
    """Yield calls in the order they end; calls still open at the end come last, unclosed."""
    parser = AmiParser(fallback_encoding=fallback_encoding, wanted_events=ASSEMBLER_EVENTS)
    assembler = CallAssembler(config)
    stats = stats if stats is not None else ReplayStats()
    for chunk in chunks:
        for item in parser.feed(chunk):
            if isinstance(item, AmiMessage):
                stats.messages += 1
                try:
                    yield from assembler.feed(item, None)
                except Exception as exc:  # one bad event must not end the replay
                    logger.warning("event refused: %r", exc)
                    stats.refused.append((item, repr(exc)))
            elif isinstance(item, AmiGarbage):
                logger.warning("garbage quarantined: %s", item.reason)
                stats.garbage.append(item)
    if close_open:
        yield from assembler.close_all()


def chunked(data: bytes, size: int = REPLAY_CHUNK_BYTES) -> Iterator[bytes]:
    """`data` in socket-sized pieces."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def replay_sessions(
    sessions: Sequence[Iterable[bytes]],
    config: AssemblerConfig | None = None,
    *,
    records: Sequence[FinishedCall] = (),
    fallback_encoding: str = DEFAULT_FALLBACK_ENCODING,
    stats: ReplayStats | None = None,
) -> Iterator[FinishedCall]:
    """Replay successive AMI connections to one PBX as the adapter lives through them.

    Each connection after the first reconciles with its `CoreShowChannels` answer; the
    calls that ended in the gap come from `records` (the PBX's CDR), merged by Linkedid
    with what the first connection saw. Calls still open at the very end come last.
    """
    assembler = CallAssembler(config)
    stats = stats if stats is not None else ReplayStats()
    gap_from: float | None = None
    for index, session in enumerate(sessions):
        parser = AmiParser(fallback_encoding=fallback_encoding, wanted_events=SESSION_EVENTS)
        listing: list[AmiMessage] = []
        last: float | None = None
        for chunk in session:
            for item in parser.feed(chunk):
                if isinstance(item, AmiGarbage):
                    logger.warning("garbage quarantined: %s", item.reason)
                    stats.garbage.append(item)
                    continue
                if not isinstance(item, AmiMessage):
                    continue
                stats.messages += 1
                stamp = item.get("Timestamp")
                if stamp:
                    last = float(stamp)
                event = item.event
                if event == "CoreShowChannel":
                    listing.append(item)
                elif event == "CoreShowChannelsComplete":
                    held = assembler.reconcile(listing, last)
                    if index > 0:
                        yield from close_gap(
                            held,
                            records,
                            known=assembler.knows,
                            since=_utc(gap_from),
                            until=_utc(last),
                        )
                    else:
                        yield from held
                    listing = []
                else:
                    try:
                        yield from assembler.feed(item, None)
                    except Exception as exc:  # one bad event must not end the replay
                        logger.warning("event refused: %r", exc)
                        stats.refused.append((item, repr(exc)))
        gap_from = last
    yield from assembler.close_all()


def _utc(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
