"""Raw Telegram updates into the sink: parsed one by one, bad ones quarantined, files kept
when a folder is configured. Shared by long polling and the webhook's queue."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
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
from hub.model import AdapterHealth, Quarantined, Sink, Touch, utcnow

logger = logging.getLogger(__name__)


def raw_bytes(raw: object) -> bytes:
    """An update as the bytes kept in quarantine."""
    try:
        return json.dumps(raw, ensure_ascii=False, sort_keys=True).encode()
    except (TypeError, ValueError):
        return repr(raw).encode()


class UpdateIngest:
    """Pushes what each update means into a sink; counts on `health`."""

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
        top: int | None = None
        for raw in raws:
            uid = update_id_of(raw)
            if uid is not None:
                top = uid if top is None else max(top, uid)
            try:
                parsed = parse_update(raw, bot=self.bot_name, read_token=self.read_token)
            except Exception as exc:  # a bad update never stops the batch: kept, then passed
                if not isinstance(exc, ProtocolError):
                    exc = ProtocolError(f"Telegram update not understood: {type(exc).__name__}: {exc}")
                logger.warning("%s: update %s quarantined: %s", self.source, uid, exc)
                self.health.count("quarantined")
                await sink.put(
                    Quarantined(
                        source=self.source,
                        reason=str(exc),
                        raw=raw_bytes(raw),
                        external_id=None if uid is None else f"update:{uid}",
                    )
                )
                continue
            for item in parsed.items:
                await sink.put(item)
                if isinstance(item, Touch):
                    self.health.count("messages")
            if self.files_dir is not None:
                for ref in parsed.files:
                    await self.save(ref)
        if raws:
            self.health.count("updates", len(raws))
            self.health.last_event_at = utcnow()
        return top

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
