"""Saved segments: a name and a filter definition (JSON), checked by `hub.campaigns` first.

The store keeps the definition as given; what it means is `hub.campaigns.segments`'
business, so this repository never interprets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from hub.activity.repos.base import Repo, checked_name
from hub.activity.schema import segments
from hub.errors import Conflict, NotFound
from hub.model import utcnow


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedSegment:
    """A segment as stored."""

    id: int
    name: str
    definition: Mapping[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


def _segment(row: RowMapping) -> SavedSegment:
    return SavedSegment(
        id=row["id"],
        name=row["name"],
        definition=row["definition"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SegmentsRepo(Repo):
    """Create, read, change and delete saved segments."""

    async def create(
        self, *, name: str, definition: Mapping[str, Any], created_by: str
    ) -> SavedSegment:
        """Save a new segment; a name already taken is a `Conflict`."""
        name = checked_name(name, "segment")
        now = utcnow()
        try:
            async with self.tx() as work:
                conn = work.conn
                result = await conn.execute(
                    insert(segments)
                    .values(
                        name=name,
                        definition=dict(definition),
                        created_by=created_by,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(*segments.c)
                )
                return _segment(result.mappings().one())
        except Conflict as exc:
            raise Conflict(f"a segment named {name!r} exists", field="name") from exc

    async def get(self, segment_id: int) -> SavedSegment:
        """The segment with this id, or `NotFound`."""
        async with self.read() as conn:
            row = (
                await conn.execute(select(segments).where(segments.c.id == segment_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"no segment {segment_id}")
        return _segment(row)

    async def list(self) -> list[SavedSegment]:
        """Every saved segment, by name."""
        async with self.read() as conn:
            rows = (await conn.execute(select(segments).order_by(segments.c.name))).mappings()
            return [_segment(row) for row in rows]

    async def change(self, segment_id: int, *, definition: Mapping[str, Any]) -> SavedSegment:
        """Replace the definition of a segment."""
        async with self.tx() as work:
            conn = work.conn
            row = (
                await conn.execute(
                    update(segments)
                    .where(segments.c.id == segment_id)
                    .values(definition=dict(definition), updated_at=utcnow())
                    .returning(*segments.c)
                )
            ).mappings().first()
        if row is None:
            raise NotFound(f"no segment {segment_id}")
        return _segment(row)

    async def delete(self, segment_id: int) -> None:
        """Forget a segment (campaigns keep their own recipient snapshots)."""
        async with self.tx() as work:
            conn = work.conn
            result = await conn.execute(delete(segments).where(segments.c.id == segment_id))
        if result.rowcount == 0:
            raise NotFound(f"no segment {segment_id}")
