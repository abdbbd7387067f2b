"""Sans-IO reader of Asterisk's own call records (`cdr_csv` Master.csv) into finished calls.

AMI has no history: a call that ends (or happens entirely) while we are not connected is
only in Asterisk's CDR. This turns CDR lines into the same `FinishedCall`s the live
assembler gives, by the same rules (trunk vs extension channels, the rung phones from
`Dial`'s targets, the last phone bridged with the client as the employee), so a backfilled
call and its partial live record merge by Linkedid. CDR times are whole seconds.

Columns, in `cdr_csv` order with `loguniqueid`, `loguserfield` and `newcdrcolumns`:
accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata, start,
answer, end, duration, billsec, disposition, amaflags, uniqueid, userfield, peeraccount,
linkedid, sequence. Without `linkedid` (older layouts) the `uniqueid` stands in for it.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hub.model import Direction, Status
from hub.telephony.call_assembler import (
    ATTENDED,
    BLIND,
    MAX_TRANSFERS,
    AssemblerConfig,
    ChannelKinds,
    FinishedCall,
    Transfer,
    device_of,
)

COLUMNS = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
    "peeraccount",
    "linkedid",
    "sequence",
)
#: Fewest columns a line must have: up to `uniqueid`, which identifies the call.
MIN_COLUMNS = COLUMNS.index("uniqueid") + 1
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

_DISPOSITION_OUT: dict[str, Status] = {
    "ANSWERED": Status.ANSWERED,
    "BUSY": Status.BUSY,
    "NO ANSWER": Status.NO_ANSWER,
    "FAILED": Status.FAILED,
    "CONGESTION": Status.FAILED,
}
#: What an Originate's own leg dials before the dialplan runs (a failed click-to-call).
_ORIGINATE_APP = "AppDial2"


@dataclass(frozen=True, slots=True, kw_only=True)
class CdrLine:
    """One CDR line: one party pair of a call."""

    src: str
    dst: str
    dcontext: str
    channel: str
    dstchannel: str
    lastapp: str
    lastdata: str
    start: datetime | None
    answer: datetime | None
    end: datetime | None
    disposition: str
    uniqueid: str
    linkedid: str
    sequence: int


@dataclass(slots=True)
class CdrReadStats:
    """What a read went through: lines taken and lines refused (with why)."""

    lines: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def _time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _when(value: object) -> datetime | None:
    """A CDR time: a csv cell or a database value (naive means UTC: `usegmtime = yes`)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return _time(value) if isinstance(value, str) else None


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _seconds(value: object) -> int | None:
    text = _text(value).strip()
    return int(text) if text.isascii() and text.isdigit() else None


def line_of(cells: Mapping[str, object], number: int, stats: CdrReadStats) -> CdrLine | None:
    """One CDR line from its named cells: a csv row or a database row (`cdr_pgsql`,
    `cdr_adaptive_odbc`), where the start may be called `calldate` and a table without
    `answer`/`end` columns gives them by `duration` and `billsec`."""
    uniqueid = _text(cells.get("uniqueid")).strip()
    if not uniqueid:
        stats.refused.append((number, "no uniqueid"))
        return None
    start = _when(cells.get("start", cells.get("calldate")))
    answer = _when(cells.get("answer"))
    end = _when(cells.get("end"))
    duration, billsec = _seconds(cells.get("duration")), _seconds(cells.get("billsec"))
    if start is not None and end is None and duration is not None:
        end = start + timedelta(seconds=duration)
    if start is not None and answer is None and "answer" not in cells and billsec:
        answer = start + timedelta(seconds=(duration or billsec) - billsec)
    sequence = _text(cells.get("sequence")).strip()
    stats.lines += 1
    return CdrLine(
        src=_text(cells.get("src")),
        dst=_text(cells.get("dst")),
        dcontext=_text(cells.get("dcontext")),
        channel=_text(cells.get("channel")),
        dstchannel=_text(cells.get("dstchannel")),
        lastapp=_text(cells.get("lastapp")),
        lastdata=_text(cells.get("lastdata")),
        start=start,
        answer=answer,
        end=end,
        disposition=_text(cells.get("disposition")).strip().upper(),
        uniqueid=uniqueid,
        linkedid=_text(cells.get("linkedid")).strip() or uniqueid,
        sequence=int(sequence) if sequence.isascii() and sequence.isdigit() else number,
    )


def parse_lines(text: str, stats: CdrReadStats | None = None) -> list[CdrLine]:
    """The CDR lines of a Master.csv text (a header line, if any, is skipped)."""
    stats = stats if stats is not None else CdrReadStats()
    out: list[CdrLine] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (number == 1 and row[0] == COLUMNS[0]):
            continue
        if len(row) < MIN_COLUMNS:
            stats.refused.append((number, f"{len(row)} columns, at least {MIN_COLUMNS} needed"))
            continue
        line = line_of(dict(zip(COLUMNS, row, strict=False)), number, stats)
        if line is not None:
            out.append(line)
    return out


def parse_rows(rows: Iterable[Mapping[str, object]], stats: CdrReadStats | None = None) -> list[CdrLine]:
    """The CDR lines of database rows (column name → value), in the order given."""
    stats = stats if stats is not None else CdrReadStats()
    out = []
    for number, row in enumerate(rows, start=1):
        line = line_of({k.lower(): v for k, v in row.items()}, number, stats)
        if line is not None:
            out.append(line)
    return out


class CdrCalls:
    """Groups CDR lines by Linkedid and summarises each group as a `FinishedCall`."""

    def __init__(self, config: AssemblerConfig | None = None) -> None:
        self.config = config or AssemblerConfig()
        self._kinds = ChannelKinds(self.config)


    def calls(self, lines: Iterable[CdrLine]) -> list[FinishedCall]:
        """One call per Linkedid, in the order the calls started."""
        groups: dict[str, list[CdrLine]] = {}
        for line in lines:
            groups.setdefault(line.linkedid, []).append(line)
        calls = [self._call(lid, sorted(g, key=lambda x: x.sequence)) for lid, g in groups.items()]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(calls, key=lambda c: c.started_at or epoch)

    # ------------------------------------------------------------------ rules

    def _is_trunk(self, channel: str, context: str = "") -> bool:
        return self._kinds.is_trunk(channel, context)

    def _ext(self, channel: str) -> str | None:
        if not channel or self._is_trunk(channel):
            return None
        device = device_of(channel)
        return device if self._kinds.is_internal(device) else None

    def _dial_targets(self, line: CdrLine) -> list[str]:
        """Extensions a `Dial` rang: `PJSIP/101&PJSIP/102,30,t` → 101, 102."""
        if line.lastapp != "Dial":
            return []
        targets = line.lastdata.partition(",")[0]
        found = []
        for target in targets.split("&"):
            if "/" not in target:
                continue
            ext = self._ext(target.strip())
            if ext is not None:
                found.append(ext)
        return found

    def _call(self, linkedid: str, lines: list[CdrLine]) -> FinishedCall:
        origin = next((x for x in lines if x.uniqueid == linkedid), lines[0])
        starts = [x.start for x in lines if x.start is not None]
        ends = [x.end for x in lines if x.end is not None]
        started = min(starts) if starts else None
        ended = max(ends) if ends else None
        rung = sorted({ext for line in lines for ext in self._dial_targets(line)})
        notes: list[str] = []
        transfers: list[Transfer] = []
        counterpart: str | None = None
        counterpart_ext: str | None = None
        answered_at: datetime | None = None
        status: Status
        employee: str | None
        if self._is_trunk(origin.channel, origin.dcontext):
            direction = Direction.IN
            counterpart = origin.src or None
            talks = [
                x
                for x in lines
                if x.channel == origin.channel
                and x.disposition == "ANSWERED"
                and x.dstchannel
                and not self._is_trunk(x.dstchannel)
            ]
            if talks:
                status = Status.ANSWERED
                answers = [x.answer for x in talks if x.answer is not None]
                answered_at = min(answers) if answers else None
                talks.sort(key=lambda x: (x.start or started or ended, x.sequence))
                employee = self._ext(talks[-1].dstchannel)
                transfers = self._transfers(talks, lines)
            else:
                dials = [x for x in lines if x.lastapp == "Dial"]
                busy = bool(dials) and all(x.disposition == "BUSY" for x in dials)
                status = Status.BUSY if busy else Status.MISSED
                employee = rung[0] if len(rung) == 1 else None
        else:
            caller = self._ext(origin.channel) or (
                origin.src if self._kinds.is_internal(origin.src) else None
            )
            employee = caller
            rung = [ext for ext in rung if ext != caller]
            outward = [x for x in lines if self._is_trunk(x.dstchannel)]
            if outward:
                direction = Direction.OUT
                leg = next((x for x in outward if x.disposition == "ANSWERED"), outward[-1])
                counterpart = leg.dst or None
                status = _DISPOSITION_OUT.get(leg.disposition, Status.FAILED)
                answered_at = leg.answer if status is Status.ANSWERED else None
            elif origin.lastapp == _ORIGINATE_APP and not origin.dstchannel:
                direction = Direction.OUT  # a click-to-call whose employee phone refused
                status = Status.FAILED
                notes.append("click-to-call: the client's number is not in the PBX's record")
            else:
                direction = Direction.INTERNAL
                answered = [x for x in lines if x.disposition == "ANSWERED" and x.dstchannel]
                if answered:
                    status = Status.ANSWERED
                    answered_at = min((x.answer for x in answered if x.answer), default=None)
                    counterpart_ext = self._ext(answered[-1].dstchannel)
                else:
                    dispositions = [x.disposition for x in lines]
                    status = (
                        Status.BUSY
                        if dispositions and all(d == "BUSY" for d in dispositions)
                        else Status.NO_ANSWER
                    )
                counterpart_ext = counterpart_ext or (rung[0] if len(rung) == 1 else None)
        ring = talk = None
        if started is not None:
            until = answered_at if answered_at is not None else ended
            if until is not None:
                ring = round(max(0.0, (until - started).total_seconds()), 1)
        if status is Status.ANSWERED:
            if answered_at is not None and ended is not None:
                talk = round(max(0.0, (ended - answered_at).total_seconds()), 1)
        else:
            talk = 0.0
        return FinishedCall(
            linkedid=linkedid,
            direction=direction,
            status=status,
            counterpart=counterpart,
            counterpart_extension=counterpart_ext,
            employee=employee,
            extensions_rung=tuple(rung),
            started_at=started,
            answered_at=answered_at,
            ended_at=ended,
            ring_seconds=ring,
            talk_seconds=talk,
            transfers=tuple(transfers),
            backfilled=True,
            notes=tuple(notes),
        )

    def _transfers(self, talks: list[CdrLine], lines: list[CdrLine]) -> list[Transfer]:
        """Hand-overs between the phones the client talked to, in order: attended when the
        first phone called the second itself (a consultation line), blind otherwise."""
        out: list[Transfer] = []
        for before, after in itertools.pairwise(talks):
            source, target = self._ext(before.dstchannel), self._ext(after.dstchannel)
            if source is None or target is None or source == target:
                continue
            consulted = any(
                x.channel == before.dstchannel and self._ext(x.dstchannel) == target for x in lines
            )
            out.append(Transfer(source=source, target=target, kind=ATTENDED if consulted else BLIND))
            if len(out) >= MAX_TRANSFERS:
                break
        return out


def read_cdr(
    text: str, config: AssemblerConfig | None = None, stats: CdrReadStats | None = None
) -> list[FinishedCall]:
    """The calls in a Master.csv text, in the order they started."""
    return CdrCalls(config).calls(parse_lines(text, stats))
