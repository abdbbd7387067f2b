"""IMAP capture: every letter of a mailbox's INBOX, Sent and chosen folders into the sink.

Per folder the resume point is (UIDVALIDITY, last UID), pushed as a `Checkpoint` after
the letters it covers so the store commits both together. Letters are read with
EXAMINE and BODY.PEEK (\\Seen is never touched), in batches: one FETCH of headers and
BODYSTRUCTURE, then one FETCH per distinct text section for the previews. A letter
that cannot be read is quarantined with its raw bytes and passed by the checkpoint,
so it is never fetched again. New mail arrives through IDLE, or polling without it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.backoff import BackoffPolicy
from hub.channels.email.imap_connection import ImapConnection
from hub.channels.email.imap_protocol import (
    FetchedMessage,
    FolderInfo,
    ImapParseError,
    SelectInfo,
    imap_date,
    parse_bodystructure,
    parse_internaldate,
    uid_set,
)
from hub.channels.email.letter_parser import (
    LetterParseError,
    ParsedLetter,
    parse_header_block,
    parse_message,
    parse_parts,
)
from hub.channels.email.meaning import SOURCE, Mailbox, interpret
from hub.channels.email.mime import MessageStructure, decode_transfer
from hub.channels.email.server_url import ServerUrl
from hub.channels.email.settings import EmailSettings
from hub.errors import ChannelAuthError, ChannelError
from hub.model import (
    AdapterHealth,
    Checkpoint,
    Quarantined,
    Sink,
    SinkItem,
    utcnow,
)

logger = logging.getLogger(__name__)

#: Letters fetched whole (bounces, quarantine) only up to this size; bigger ones keep the header.
FULL_FETCH_MAX_BYTES = 5 * 1024 * 1024
#: Well-known Sent folder names, tried when the server has no SPECIAL-USE and none is configured.
SENT_NAMES: tuple[str, ...] = ("Sent", "Sent Items", "Sent Messages", "INBOX.Sent", "Отправленные")
#: Items fetched for every letter in the first pass.
HEADER_ITEMS = "(UID RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER])"
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderCheckpoint:
    """The resume point of one folder."""

    uidvalidity: int
    last_uid: int

    @classmethod
    def load(cls, raw: str | None) -> FolderCheckpoint | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(uidvalidity=int(data["uidvalidity"]), last_uid=int(data["last_uid"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring unreadable IMAP checkpoint %r", raw[:100])
            return None

    def dump(self) -> str:
        return json.dumps({"uidvalidity": self.uidvalidity, "last_uid": self.last_uid})


@dataclass(frozen=True, slots=True, kw_only=True)
class _FolderPlan:
    """What one folder's pass will read."""

    folder: str
    info: SelectInfo
    saved: FolderCheckpoint | None
    last: int
    uids: list[int]


#: `progress(done, total)`: the hook `touchhub sync --once` sets to draw its progress bar.
Progress = Callable[[int, int | None], None]


class ImapCapture:
    """The capture adapter of one mailbox (one IMAP account)."""

    #: Two processes syncing one mailbox would race on its checkpoints: one at a time.
    single_consumer = True

    def __init__(
        self,
        *,
        account: str,
        url: ServerUrl,
        password: str,
        mailbox: Mailbox,
        settings: EmailSettings,
        sent_folder: str | None = None,
        extra_folders: Sequence[str] = (),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = f"imap:{account}"
        self.account = account
        self.health = AdapterHealth(name=self.name)
        self.url = url
        self._password = password
        self.mailbox = mailbox
        self.settings = settings
        self.sent_folder = sent_folder
        self.extra_folders = tuple(extra_folders)
        self.ssl_context = ssl_context
        #: INBOX's UIDNEXT as the last sync saw it: a letter that lands between that
        #: sync's search and the IDLE that follows must not wait for the next poll.
        self._inbox_uidnext: int | None = None
        self.progress: Progress | None = None
        self._folders: list[str] | None = None
        self.sent_name: str | None = None

    def __repr__(self) -> str:
        return f"ImapCapture({self.name}, {self.url})"

    # ------------------------------------------------------------ life cycle

    def _connection(self) -> ImapConnection:
        return ImapConnection(
            self.url, self._password, timeout=self.settings.timeout_s, ssl_context=self.ssl_context
        )

    async def sync_once(self, sink: Sink) -> None:
        """Catch up every folder once and return (`touchhub sync --once`)."""
        conn = self._connection()
        try:
            await conn.open()
            self.health.running()
            await self._sync_all(conn, sink)
            await sink.flush()
        except ChannelError as exc:
            self.health.failed(exc)
            raise
        finally:
            await conn.close()

    async def run(self, sink: Sink) -> None:
        """Sync, then wait for news (IDLE or polling), forever; reconnect with backoff."""
        backoff = BackoffPolicy(
            initial_s=self.settings.reconnect_initial_s, max_s=self.settings.reconnect_max_s
        ).start()
        while True:
            conn = self._connection()
            try:
                await conn.open()
                self.health.running()
                backoff.healthy()
                while True:
                    await self._sync_all(conn, sink)
                    await self._wait_for_news(conn)
            except ChannelAuthError as exc:
                self.health.failed(exc)
                raise
            except ChannelError as exc:
                self.health.backoff(exc)
                pause = backoff.next_delay()
                logger.warning("%s: %s; reconnecting in %.1f s", self.name, exc, pause)
                await asyncio.sleep(pause)
            finally:
                await conn.close()

    async def _wait_for_news(self, conn: ImapConnection) -> None:
        """IDLE on INBOX until news or the poll interval; plain sleep without IDLE."""
        interval = self.settings.poll_interval_s
        if "IDLE" in conn.capabilities:
            info = await conn.examine("INBOX")
            seen = self._inbox_uidnext
            if seen is not None and info.uidnext is not None and info.uidnext > seen:
                return  # arrived after the sync's search, before IDLE: sync again now
            await conn.wait_for_news(min(interval, self.settings.idle_renew_s))
        else:
            await asyncio.sleep(interval)

    # ------------------------------------------------------------ folders

    async def folders(self, conn: ImapConnection) -> list[str]:
        """INBOX, the Sent folder (SPECIAL-USE, else configured, else a known name), extras."""
        if self._folders is not None:
            return self._folders
        listed = await conn.list_folders()
        names = {f.name for f in listed}
        wanted = ["INBOX"]
        sent = self.sent_name = self._find_sent(listed, names)
        if sent:
            wanted.append(sent)
        else:
            logger.warning(
                "%s: no Sent folder found; outgoing letters come only from sending", self.name
            )
        for folder in self.extra_folders:
            if folder not in wanted:
                wanted.append(folder)
        self._folders = wanted
        return wanted

    def _find_sent(self, listed: list[FolderInfo], names: set[str]) -> str | None:
        special = [f.name for f in listed if "\\sent" in f.flags]
        if special:
            return special[0]
        if self.sent_folder:
            return self.sent_folder
        return next((n for n in SENT_NAMES if n in names), None)

    async def _sync_all(self, conn: ImapConnection, sink: Sink) -> None:
        """Plan every folder first (so the progress bar knows the total), then read them."""
        plans = [await self._plan(conn, sink, folder) for folder in await self.folders(conn)]
        total = sum(len(p.uids) for p in plans)
        done = 0
        self._report(done, total)
        for plan in plans:
            async for count in self._read_folder(conn, sink, plan):
                done += count
                self._report(done, total)
        self.health.last_event_at = utcnow()

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    # ------------------------------------------------------------ one folder

    async def _plan(self, conn: ImapConnection, sink: Sink, folder: str) -> _FolderPlan:
        """Which UIDs of `folder` are new since its checkpoint (or within the horizon)."""
        info = await conn.examine(folder)
        if folder == "INBOX":
            self._inbox_uidnext = info.uidnext
        saved = FolderCheckpoint.load(await sink.load_checkpoint(self.name, folder))
        if saved is not None and saved.uidvalidity == info.uidvalidity:
            last = saved.last_uid
            uids = [u for u in await conn.uid_search("UID", f"{last + 1}:*") if u > last]
        else:
            if saved is not None:
                logger.warning(
                    "%s/%s: UIDVALIDITY %d → %d; resyncing, letters matched by Message-ID",
                    self.name,
                    folder,
                    saved.uidvalidity,
                    info.uidvalidity,
                )
                self.health.count("resyncs")
            last = 0
            uids = await conn.uid_search(*self._first_sync_criteria())
        return _FolderPlan(folder=folder, info=info, saved=saved, last=last, uids=uids)

    async def _read_folder(
        self, conn: ImapConnection, sink: Sink, plan: _FolderPlan
    ) -> AsyncIterator[int]:
        """Read the planned letters batch by batch, each batch followed by its checkpoint."""
        folder, info, last = plan.folder, plan.info, plan.last
        if (await conn.examine(folder)).uidvalidity != info.uidvalidity:
            logger.warning("%s/%s: UIDVALIDITY changed while syncing; next pass", self.name, folder)
            return
        for start in range(0, len(plan.uids), self.settings.fetch_batch):
            batch = plan.uids[start : start + self.settings.fetch_batch]
            for item in await self._read_batch(conn, folder, info, batch):
                await sink.put(item)
            last = max(last, batch[-1])
            await sink.put(self._checkpoint(folder, info.uidvalidity, last))
            yield len(batch)
        # UIDs below UIDNEXT that the search skipped (older than the horizon) stay skipped.
        top = (info.uidnext or 1) - 1
        saved = plan.saved
        if saved is None or saved.uidvalidity != info.uidvalidity or top > last:
            await sink.put(self._checkpoint(folder, info.uidvalidity, max(last, top)))

    def _first_sync_criteria(self) -> tuple[str, ...]:
        if self.settings.horizon_days is None:
            return ("ALL",)
        since = utcnow() - timedelta(days=self.settings.horizon_days)
        return ("SINCE", imap_date(since))

    def _checkpoint(self, folder: str, uidvalidity: int, last_uid: int) -> Checkpoint:
        value = FolderCheckpoint(uidvalidity=uidvalidity, last_uid=last_uid).dump()
        return Checkpoint(source=self.name, key=folder, value=value)

    async def _read_batch(
        self, conn: ImapConnection, folder: str, info: SelectInfo, uids: list[int]
    ) -> list[SinkItem]:
        """Fetch a batch in a few round trips and turn every letter into sink items."""
        heads = {m.uid: m for m in await conn.uid_fetch(uid_set(uids), HEADER_ITEMS)}
        structures: dict[int, MessageStructure] = {}
        broken: dict[int, str] = {}
        whole: list[int] = []
        by_section: dict[str, list[int]] = {}
        for uid, head in heads.items():
            try:
                structure = parse_bodystructure(head.items.get("BODYSTRUCTURE"))
            except (ImapParseError, ValueError) as exc:
                broken[uid] = f"unreadable BODYSTRUCTURE: {exc}"
                continue
            structures[uid] = structure
            if (
                structure.is_delivery_report
                and (head.int_of("RFC822.SIZE") or 0) <= FULL_FETCH_MAX_BYTES
            ):
                whole.append(uid)
                continue
            part = structure.text_part()
            if part is not None:
                by_section.setdefault(part.section, []).append(uid)
        texts: dict[int, bytes] = {}
        for section, section_uids in by_section.items():
            wanted = f"(UID BODY.PEEK[{section}]<0.{self.settings.preview_bytes}>)"
            for msg in await conn.uid_fetch(uid_set(section_uids), wanted):
                texts[msg.uid] = msg.bytes_of(f"BODY[{section}]") or b""
        raws = await self._fetch_whole(conn, whole) if whole else {}
        out: list[SinkItem] = []
        for uid in sorted(heads):
            head = heads[uid]
            try:
                if uid in broken:
                    raise LetterParseError(broken[uid])
                letter = self._letter(head, structures[uid], texts.get(uid), raws.get(uid))
                extra: dict[str, Any] = {}
                if self.settings.attachments_dir and letter.attachments:
                    extra["saved_attachments"] = await self._save_attachments(conn, uid, letter)
                items = interpret(
                    letter,
                    self.mailbox,
                    folder=folder,
                    received_at=parse_internaldate(head.items.get("INTERNALDATE")),
                    extra=extra,
                )
            except ValueError as exc:  # LetterParseError, or a value the model refuses
                out.append(await self._quarantine(conn, folder, info, head, str(exc)))
                continue
            self.health.count("letters")
            self.health.count("bounces", len(items) - 1)
            out.extend(items)
        return out

    def _letter(
        self,
        head: FetchedMessage,
        structure: MessageStructure,
        text: bytes | None,
        raw: bytes | None,
    ) -> ParsedLetter:
        if raw is not None:
            return parse_message(raw)
        header = head.bytes_of("BODY[HEADER]")
        if header is None:
            raise LetterParseError("server returned no header block")
        return parse_parts(header, structure, text, size=head.int_of("RFC822.SIZE"))

    async def _fetch_whole(self, conn: ImapConnection, uids: list[int]) -> dict[int, bytes]:
        fetched = await conn.uid_fetch(uid_set(uids), "(UID BODY.PEEK[])")
        return {m.uid: m.bytes_of("BODY[]") or b"" for m in fetched}

    async def _quarantine(
        self, conn: ImapConnection, folder: str, info: SelectInfo, head: FetchedMessage, reason: str
    ) -> Quarantined:
        """Keep the raw letter and the reason; the checkpoint then moves past it for good."""
        size = head.int_of("RFC822.SIZE") or 0
        raw = head.bytes_of("BODY[HEADER]") or b""
        if size <= FULL_FETCH_MAX_BYTES:
            raw = (await self._fetch_whole(conn, [head.uid])).get(head.uid, raw)
        header = parse_header_block(raw) if raw else None
        message_id = header.get("Message-ID") if header is not None else None
        location = f"imap:{self.account}/{folder}/{info.uidvalidity}/{head.uid}"
        logger.warning("%s: quarantined %s: %s", self.name, location, reason)
        self.health.count("quarantined")
        return Quarantined(
            source=SOURCE,
            reason=f"{reason} ({location}{f', Message-ID {message_id}' if message_id else ''})",
            raw=raw,
            external_id=location,
        )

    async def _save_attachments(
        self, conn: ImapConnection, uid: int, letter: ParsedLetter
    ) -> list[dict[str, object]]:
        """Save attachments up to the size limit under attachments_dir/account/letter-hash/."""
        assert self.settings.attachments_dir is not None
        folder = Path(self.settings.attachments_dir) / self.account
        folder /= hashlib.sha256(letter.message_id.encode()).hexdigest()[:24]
        saved: list[dict[str, object]] = []
        for attachment in letter.attachments:
            if attachment.size > self.settings.attachment_max_bytes:
                continue
            items = f"(UID BODY.PEEK[{attachment.section}] BODY.PEEK[{attachment.section}.MIME])"
            fetched = await conn.uid_fetch(str(uid), items)
            if not fetched:
                continue
            body = fetched[0].bytes_of(f"BODY[{attachment.section}]") or b""
            mime = parse_header_block(
                fetched[0].bytes_of(f"BODY[{attachment.section}.MIME]") or b""
            )
            encoding = str(mime.get("Content-Transfer-Encoding") or "7bit").strip()
            data = decode_transfer(body, encoding)
            name = (
                _UNSAFE_NAME.sub("_", attachment.name).strip(" .") or f"part-{attachment.section}"
            )
            path = folder / f"{attachment.section}-{name}"
            await asyncio.to_thread(_write, path, data)
            saved.append({"name": attachment.name, "path": str(path), "size": len(data)})
        return saved


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
