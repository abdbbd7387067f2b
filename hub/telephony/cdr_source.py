"""Where a PBX's call records are read from for an outage backfill (`[telephony.pbx.NAME] cdr`).

`csv:/var/log/asterisk/cdr-csv/Master.csv` reads `cdr_csv`'s file from its end backwards
until the lines are older than the gap, so a years-long file costs what the gap costs.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from hub.errors import ConfigError
from hub.telephony.call_assembler import AssemblerConfig, FinishedCall
from hub.telephony.cdr import CdrCalls, CdrReadStats, parse_lines

#: Bytes read from the end of the file at a time.
TAIL_BLOCK_BYTES = 1 << 20
#: Calls end after they start: lines are kept from this long before the gap began.
LONGEST_CALL = timedelta(hours=4)


class CdrSource(Protocol):
    """The PBX's calls that ended after a moment (for the gap after it)."""

    async def calls_since(self, since: datetime) -> list[FinishedCall]: ...


class CsvCdrSource:
    """`cdr_csv`'s Master.csv on this machine (or a mount of the PBX's)."""

    def __init__(
        self, path: Path, config: AssemblerConfig, *, block_bytes: int = TAIL_BLOCK_BYTES
    ) -> None:
        self.path = path
        self.config = config
        self.block_bytes = block_bytes
        self.stats = CdrReadStats()

    async def calls_since(self, since: datetime) -> list[FinishedCall]:
        text = await asyncio.to_thread(self._tail, since - LONGEST_CALL)
        stats = CdrReadStats()
        calls = CdrCalls(self.config).calls(parse_lines(text, stats))
        self.stats = stats
        return [c for c in calls if c.ended_at is None or c.ended_at > since]

    def _tail(self, oldest: datetime) -> str:
        """The file's last lines, back to the first whose start is before `oldest`."""
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read the CDR file {self.path}: {exc}") from exc
        with handle:
            end = handle.seek(0, os.SEEK_END)
            data = b""
            while end > 0:
                start = max(0, end - self.block_bytes)
                handle.seek(start)
                data = handle.read(end - start) + data
                end = start
                if start == 0:
                    break
                # the first whole line of what is read so far: old enough to stop?
                first_end = data.find(b"\n")
                second_end = data.find(b"\n", first_end + 1)
                if first_end < 0 or second_end < 0:
                    continue
                first = parse_lines(data[first_end + 1 : second_end].decode("utf-8", "replace"))
                if first and first[0].start is not None and first[0].start < oldest:
                    data = data[first_end + 1 :]
                    break
            return data.decode("utf-8", "replace")


def cdr_source(setting: str, config: AssemblerConfig, *, where: str) -> CdrSource:
    """The source a `cdr = "..."` setting names."""
    kind, _, rest = setting.partition(":")
    if kind == "csv" and rest:
        return CsvCdrSource(Path(rest), config)
    raise ConfigError(
        f"{where}: {setting!r} is not a CDR source I can read "
        "(write csv:/var/log/asterisk/cdr-csv/Master.csv)"
    )
