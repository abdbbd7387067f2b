"""Replay of raw AMI bytes (as read from the socket) into finished calls, for backfill and tests."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from hub.telephony.ami_protocol import DEFAULT_FALLBACK_ENCODING, AmiGarbage, AmiMessage, AmiParser
from hub.telephony.call_assembler import (
    ASSEMBLER_EVENTS,
    AssemblerConfig,
    CallAssembler,
    FinishedCall,
)

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
