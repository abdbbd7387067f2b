"""An in-memory `Sink` for e-mail adapter tests: dedups touches on (source, external_id) like the store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hub.model import Checkpoint, Quarantined, SinkItem, StatusUpdate, Touch


@dataclass
class EmailSink:
    """Keeps what adapters push; `record()` semantics: the same key updates, never duplicates."""

    touches: dict[tuple[str, str], Touch] = field(default_factory=dict)
    updates: list[StatusUpdate] = field(default_factory=list)
    checkpoints: dict[tuple[str, str], str] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    puts: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def put(self, item: SinkItem) -> None:
        self.puts += 1
        if isinstance(item, Touch):
            self.touches[item.key] = item
        elif isinstance(item, StatusUpdate):
            self.updates.append(item)
        elif isinstance(item, Checkpoint):
            self.checkpoints[(item.source, item.key)] = item.value
        else:
            self.quarantined.append(item)
        self.changed.set()

    async def flush(self) -> None:
        return None

    async def load_checkpoint(self, source: str, key: str) -> str | None:
        return self.checkpoints.get((source, key))

    def by_subject(self, subject: str) -> list[Touch]:
        return [t for t in self.touches.values() if t.subject == subject]

    async def wait_for(self, predicate: object, seconds: float = 10.0) -> None:
        """Wait until `predicate()` is true (checked whenever something arrives)."""
        assert callable(predicate)

        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), seconds)
