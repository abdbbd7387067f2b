"""The bounce mailbox as the campaigns see it: one IMAP folder read as bounces.

The folder is examined read-only (nothing is flagged or moved: people may read it too)
and whole letters are fetched after a resume point, `FolderCheckpoint`'s UIDVALIDITY and
last UID. Each batch comes with the resume point after it, which the caller keeps in the
same step as what it made of the batch, so a restart reads nothing twice and skips nothing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable

from hub.channels.email.dsn import parse_bounce
from hub.channels.email.factory import build_capture
from hub.channels.email.imap_capture import FolderCheckpoint
from hub.channels.email.imap_connection import ImapConnection
from hub.channels.email.imap_protocol import uid_set
from hub.channels.email.settings import EmailSettings
from hub.errors import ConfigError
from hub.model import Bounce, BounceBatch

logger = logging.getLogger(__name__)

#: Letters fetched per UID FETCH.
FETCH_BATCH = 50
#: Longest bounce read whole; a DSN is a few KiB, one quoting a big original is cut there.
MAX_BOUNCE_BYTES = 2 * 1024 * 1024


class BounceFolder:
    """Reads one IMAP folder (read-only) from a resume point on, as bounces."""

    def __init__(
        self, *, connect: Callable[[], ImapConnection], account: str, folder: str
    ) -> None:
        self.connect = connect
        self.account = account
        self.folder = folder

    @property
    def key(self) -> str:
        """Names this folder's resume point."""
        return f"{self.account}:{self.folder}"

    async def read(self, resume: str | None) -> AsyncGenerator[BounceBatch, None]:
        """Batches of the letters that arrived after `resume`, each with its own."""
        conn = self.connect()
        await conn.open()
        try:
            info = await conn.examine(self.folder)
            saved = FolderCheckpoint.load(resume)
            last = saved.last_uid if saved and saved.uidvalidity == info.uidvalidity else 0
            uids = [u for u in await conn.uid_search("UID", f"{last + 1}:*") if u > last]
            for start in range(0, len(uids), FETCH_BATCH):
                batch = uids[start : start + FETCH_BATCH]
                fetched = await conn.uid_fetch(uid_set(batch), "(UID RFC822.SIZE BODY.PEEK[])")
                bounces = [self._bounce(m.bytes_of("BODY[]") or b"") for m in fetched]
                last = max(last, batch[-1])
                yield BounceBatch(
                    letters=len(fetched),
                    bounces=tuple(b for b in bounces if b is not None),
                    resume=FolderCheckpoint(uidvalidity=info.uidvalidity, last_uid=last).dump(),
                )
        finally:
            await conn.close()

    def _bounce(self, raw: bytes) -> Bounce | None:
        try:
            return parse_bounce(raw[:MAX_BOUNCE_BYTES])
        except Exception as exc:  # one unreadable letter must not stop the pass
            logger.warning("%s: unreadable letter in the bounce mailbox: %r", self.key, exc)
            return None


def bounce_folder(email: EmailSettings, mailbox: str) -> BounceFolder:
    """The reader of a bounce mailbox given as ACCOUNT/FOLDER of a configured account."""
    account, _, folder = mailbox.partition("/")
    if account not in email.accounts:
        raise ConfigError(f"bounce mailbox {mailbox!r}: no e-mail account {account!r}")
    capture = build_capture(email, account)
    conf = email.accounts[account]
    password = conf.password.get_secret_value() if conf.password else ""

    def connect() -> ImapConnection:
        return ImapConnection(
            capture.url, password, timeout=email.timeout_s, ssl_context=capture.ssl_context
        )

    return BounceFolder(connect=connect, account=account, folder=folder)
