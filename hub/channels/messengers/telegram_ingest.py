"""Raw Telegram updates into the sink: parsed one by one, bad ones quarantined, files kept
when a folder is configured. Shared by long polling and the webhook's queue."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from telegram.error import TelegramError

from hub.channels.messengers.telegram_client import UpdatesBot
from hub.channels.messengers.telegram_updates import (
    FileRef,
    TokenReader,
    parse_update,
    source_of,
    update_id_of,
)
from hub.errors import ProtocolError
from hub.model import AdapterHealth, Quarantined, Sink, SinkItem, Touch, utcnow

logger = logging.getLogger(__name__)


def raw_bytes(raw: object) -> bytes:
    """An update as the bytes kept in quarantine."""
    try:
        return json.dumps(raw, ensure_ascii=False, sort_keys=True).encode()
    except (TypeError, ValueError):
        return repr(raw).encode()


@dataclass(slots=True)
class Digest:
    """What a run of updates means, ready for the sink: its items in order (quarantine
    records of the bad ones among them), the files they carry, the highest update id."""

    items: list[SinkItem] = field(default_factory=list)
    files: list[FileRef] = field(default_factory=list)
    top: int | None = None
    updates: int = 0


class UpdateIngest:
    """Parses updates (`digest`) and pushes what they mean into a sink (`deliver`); counts
    on `health`. The two halves are apart so that the poller can parse what it has made
    durable while it waits for Telegram's next answer (`telegram_spool`)."""

    def __init__(
        self,
        *,
        bot_name: str,
        bot: UpdatesBot,
        health: AdapterHealth,
        read_token: TokenReader | None = None,
        files_dir: Path | None = None,
    ) -> None:
        self.bot_name = bot_name
        self.source = source_of(bot_name)
        self.bot = bot
        self.health = health
        self.read_token = read_token
        self.files_dir = files_dir

    async def take(self, raws: Sequence[Any], sink: Sink) -> int | None:
        """Put every update of a batch into `sink`, in order; the highest update id seen."""
        digest = self.digest(raws, Digest())
        await self.deliver(digest, sink)
        return digest.top

    def digest(self, raws: Iterable[Any], into: Digest) -> Digest:
        """Parse `raws` onto the end of `into`; a bad update becomes a quarantine record."""
        for raw in raws:
            into.updates += 1
            uid = update_id_of(raw)
            if uid is not None and (into.top is None or uid > into.top):
                into.top = uid
            try:
                parsed = parse_update(raw, bot=self.bot_name, read_token=self.read_token)
            except Exception as exc:  # a bad update never stops the batch: kept, then passed
                if not isinstance(exc, ProtocolError):
                    exc = ProtocolError(f"Telegram update not understood: {type(exc).__name__}: {exc}")
                logger.warning("%s: update %s quarantined: %s", self.source, uid, exc)
                self.health.count("quarantined")
                into.items.append(
                    Quarantined(
                        source=self.source,
                        reason=str(exc),
                        raw=raw_bytes(raw),
                        external_id=None if uid is None else f"update:{uid}",
                    )
                )
                continue
            into.items.extend(parsed.items)
            if self.files_dir is not None:
                into.files.extend(parsed.files)
        return into

    async def deliver(self, digest: Digest, sink: Sink) -> None:
        """Put a digest's items into `sink`, in order, then keep its files (if configured)."""
        messages = 0
        for item in digest.items:
            await sink.put(item)
            if isinstance(item, Touch):
                messages += 1
        if messages:
            self.health.count("messages", messages)
        for ref in digest.files:
            await self.save(ref)
        if digest.updates:
            self.health.count("updates", digest.updates)
            self.health.last_event_at = utcnow()

    def path_of(self, ref: FileRef, remote_path: str | None) -> Path:
        """Where a file is kept: ``files_dir/BOT/<file_unique_id><suffix>``."""
        assert self.files_dir is not None
        suffix = PurePosixPath(remote_path or ref.file_name or "").suffix
        return self.files_dir / self.bot_name / f"{ref.file_unique_id}{suffix}"

    async def save(self, ref: FileRef) -> Path | None:
        """Download a file once (getFile, then the file URL); a failure is logged, not fatal."""
        try:
            remote = await self.bot.get_file(ref.file_id)
            path = self.path_of(ref, remote.file_path)
            if path.exists():
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            await remote.download_to_drive(path)
        except (TelegramError, OSError) as exc:
            logger.warning("%s: file %s of %s not saved: %s", self.source, ref.file_id, ref.external_id, exc)
            self.health.count("files_failed")
            return None
        self.health.count("files_saved")
        return path
