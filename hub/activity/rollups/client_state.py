"""The arithmetic of one client's client-base state, with no database in sight.

Client-base quality and forgotten clients are states "as of" a moment over every client
an employee owns, kept as dated deltas (`client_base.py` stores them). A client is
counted as of D when it was created before D; a field when it was filled before D; it
is forgotten as of D when it was created before D - days and had no client touch on the
local days D - days … D - 1. With the touch days p₀ (creation) < p₁ < … < pₖ, the client
is forgotten on [pᵢ + days + 1, pᵢ₊₁] and from pₖ + days + 1 on: a new touch day only
splits the gap it falls in, which is how a batch of touches is applied without reading
the client's activities. Days are `date.toordinal()` local days.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.activity.rollups.localtime import month_key
from hub.model import AddressKind

#: Contact columns a client-base quality indicator may require (the current value counts).
FIELD_COLUMNS: tuple[str, ...] = (
    "name",
    "position",
    "region",
    "city",
    "importance",
    "segment",
    "organization",
)
#: Identity kinds a quality indicator may require (counted from the identity's creation).
FIELD_IDENTITIES: tuple[str, ...] = tuple(
    kind.value for kind in AddressKind if kind is not AddressKind.EXTENSION
)
FIELDS: tuple[str, ...] = FIELD_COLUMNS + FIELD_IDENTITIES
#: Meta row present when the contact and field measures are maintained.
FIELDS_MEASURE = "fields"
CONTACTS = "contacts"
#: Forgotten periods maintained by a new, empty store.
DEFAULT_FORGOTTEN_DAYS = (30,)

#: (owner, measure, day ordinal) → n
Deltas = Counter[tuple[int, str, int]]


def forgotten_measure(days: int) -> str:
    """The measure counting clients forgotten for `days`."""
    return f"forgotten:{days}"


def filled_measure(name: str) -> str:
    """The measure counting clients with field `name` filled."""
    return f"filled:{name}"


@dataclass(slots=True)
class ClientState:
    """What one owned client contributes; days are `date.toordinal()` local days."""

    owner: int
    created: int
    filled: dict[str, int] = field(default_factory=dict)
    last: int = 0  # the last touch day, or the creation day
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (a, b), b - a > shortest

    def __post_init__(self) -> None:
        self.last = max(self.last, self.created)

    def add_touch(self, day: int, shortest: int) -> None:
        """A client touch on `day`: split the gap it falls into (days before creation don't count)."""
        if day <= self.created or day == self.last:
            return
        if day > self.last:
            if day - self.last > shortest:
                self.gaps.append((self.last, day))
            self.last = day
            return
        for i, (a, b) in enumerate(self.gaps):
            if a < day < b:
                parts = [(x, y) for x, y in ((a, day), (day, b)) if y - x > shortest]
                self.gaps[i : i + 1] = parts
                return

    def events(self, forgotten_days: Iterable[int]) -> Counter[tuple[str, int]]:
        """(measure, first day it counts) → +n/-n for this client."""
        out: Counter[tuple[str, int]] = Counter()
        out[(CONTACTS, self.created + 1)] += 1
        for name, since in self.filled.items():
            out[(filled_measure(name), max(since, self.created) + 1)] += 1
        for days in forgotten_days:
            measure = forgotten_measure(days)
            for a, b in self.gaps:
                if b - a > days:
                    out[(measure, a + days + 1)] += 1
                    out[(measure, b + 1)] -= 1
            out[(measure, self.last + days + 1)] += 1
        return out

    def forgotten_on(self, day: int, days: int) -> bool:
        """Whether the client counts as forgotten as of the start of `day` (what `events` sums to)."""
        if day >= self.last + days + 1:
            return True
        return any(b - a > days and a + days + 1 <= day <= b for a, b in self.gaps)

    def copy(self) -> ClientState:
        return ClientState(self.owner, self.created, dict(self.filled), self.last, list(self.gaps))

    def with_touches(self, days: Iterable[int], shortest: int) -> ClientState | None:
        """A copy with these touch days added, or None when they change nothing."""
        new = self.copy()
        for day in sorted(days):
            new.add_touch(day, shortest)
        if new.last == self.last and new.gaps == self.gaps:
            return None
        return new

    def dump(self) -> str:
        return json.dumps(
            {"c": self.created, "f": self.filled, "l": self.last, "g": self.gaps},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, owner: int, text: str) -> ClientState:
        data = json.loads(text)
        return cls(
            owner=owner,
            created=data["c"],
            filled=dict(data["f"]),
            last=data["l"],
            gaps=[(a, b) for a, b in data["g"]],
        )


def build_state(
    owner: int,
    created: int,
    filled: Mapping[str, int],
    touch_days: Iterable[int],
    shortest: int,
) -> ClientState:
    """A client's state from its creation day, filled fields and touch days (any order)."""
    state = ClientState(owner=owner, created=created, filled=dict(filled))
    for day in sorted(set(touch_days)):
        state.add_touch(day, shortest)
    return state


@dataclass(frozen=True, slots=True)
class Maintained:
    """The measures a store keeps; `fields` False means nothing is kept."""

    fields: bool
    forgotten_days: tuple[int, ...]

    @property
    def shortest(self) -> int:
        return min(self.forgotten_days, default=10**6)

    @classmethod
    def of(cls, measures: Iterable[str]) -> Maintained:
        """From the measure names of the meta table."""
        names = set(measures)
        days = sorted(int(n.split(":", 1)[1]) for n in names if n.startswith("forgotten:"))
        return cls(FIELDS_MEASURE in names, tuple(days))


def diff(
    deltas: Deltas, old: ClientState | None, new: ClientState | None, days: Sequence[int]
) -> None:
    """Add to `deltas` what replacing `old` by `new` does to the owners' counts."""
    if old is not None:
        for (measure, day), n in old.events(days).items():
            deltas[(old.owner, measure, day)] -= n
    if new is not None:
        for (measure, day), n in new.events(days).items():
            deltas[(new.owner, measure, day)] += n


def delta_rows(deltas: Deltas) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The daily and monthly rows to add for `deltas` (zeros left out)."""
    daily: list[dict[str, Any]] = []
    monthly: Counter[tuple[int, str, str]] = Counter()
    for (owner, measure, ordinal), n in sorted(deltas.items()):
        if n:
            day = date.fromordinal(ordinal)
            daily.append({"employee_id": owner, "measure": measure, "day": day, "n": n})
            monthly[(owner, measure, month_key(day))] += n
    return daily, [
        {"employee_id": e, "measure": m, "month": month, "n": n}
        for (e, m, month), n in sorted(monthly.items())
        if n
    ]


def touch_plan(
    gone: Counter[tuple[int, int]], came: Counter[tuple[int, int]]
) -> tuple[set[int], dict[int, set[int]]]:
    """From (client, touch day) counts removed and added: the clients to recompute (a touch
    day lost touches) and the new touch days of the others."""
    recompute = {contact for (contact, day), n in gone.items() if n > came.get((contact, day), 0)}
    new_days: dict[int, set[int]] = defaultdict(set)
    for (contact, day), n in came.items():
        if n > gone.get((contact, day), 0) and contact not in recompute:
            new_days[contact].add(day)
    return recompute, dict(new_days)


def filled_columns(row: Mapping[str, Any]) -> list[str]:
    """The quality fields filled in a contact row (its organisation by id)."""
    names = []
    for name in FIELD_COLUMNS:
        value = row["organization_id"] if name == "organization" else row[name]
        if value is not None and value != "":
            names.append(name)
    return names
