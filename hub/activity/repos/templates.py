"""Templates and their versions: every save is a new version, and versions never change.

A campaign pins (template, version), so editing a template never alters what a running
campaign sends. The text is checked by `hub.templates.validate` before it gets here.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.activity.repos.base import Repo, checked_name
from hub.activity.schema import template_versions, templates
from hub.errors import Conflict, NotFound
from hub.model import utcnow


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedTemplate:
    """A template's identity: its name and channel."""

    id: int
    name: str
    channel: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateVersion:
    """One saved text of a template (e-mail: subject, html, text; SMS: text)."""

    template_id: int
    version: int
    channel: str
    subject: str | None
    html: str | None
    text: str | None
    created_by: str
    created_at: datetime


def _version(row: RowMapping) -> TemplateVersion:
    return TemplateVersion(
        template_id=row["template_id"],
        version=row["version"],
        channel=row["channel"],
        subject=row["subject"],
        html=row["html"],
        text=row["text"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


class TemplatesRepo(Repo):
    """Create templates, add versions, read a pinned or the newest version."""

    async def create(self, *, name: str, channel: str, created_by: str) -> SavedTemplate:
        """A new template without versions; a name already taken is a `Conflict`."""
        name = checked_name(name, "template")
        try:
            async with self.tx() as work:
                conn = work.conn
                row = (
                    await conn.execute(
                        insert(templates)
                        .values(
                            name=name, channel=channel, created_by=created_by, created_at=utcnow()
                        )
                        .returning(*templates.c)
                    )
                ).mappings().one()
        except Conflict as exc:
            raise Conflict(f"a template named {name!r} exists", field="name") from exc
        return SavedTemplate(**dict(row))

    async def get(self, template_id: int) -> SavedTemplate:
        """The template with this id, or `NotFound`."""
        async with self.read() as conn:
            row = (
                await conn.execute(select(templates).where(templates.c.id == template_id))
            ).mappings().first()
        if row is None:
            raise NotFound(f"no template {template_id}")
        return SavedTemplate(**dict(row))

    async def add_version(
        self,
        template_id: int,
        *,
        subject: str | None,
        html: str | None,
        text: str | None,
        created_by: str,
    ) -> TemplateVersion:
        """Save the next version of a template (numbered from 1)."""
        try:
            async with self.tx() as work:
                conn = work.conn
                template = await self._template(conn, template_id)
                newest = (
                    await conn.execute(
                        select(func.max(template_versions.c.version)).where(
                            template_versions.c.template_id == template_id
                        )
                    )
                ).scalar()
                row = (
                    await conn.execute(
                        insert(template_versions)
                        .values(
                            template_id=template_id,
                            version=(newest or 0) + 1,
                            channel=template.channel,
                            subject=subject,
                            html=html,
                            text=text,
                            created_by=created_by,
                            created_at=utcnow(),
                        )
                        .returning(*template_versions.c)
                    )
                ).mappings().one()
        except Conflict as exc:  # two saves at once: the loser tries again
            raise Conflict("the template was saved meanwhile; save again", field="version") from exc
        return _version(row)

    async def version(self, template_id: int, version: int | None = None) -> TemplateVersion:
        """A pinned version, or the newest when `version` is None."""
        query = select(template_versions).where(template_versions.c.template_id == template_id)
        if version is None:
            query = query.order_by(template_versions.c.version.desc()).limit(1)
        else:
            query = query.where(template_versions.c.version == version)
        async with self.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise NotFound(f"no version {version or 'at all'} of template {template_id}")
        return _version(row)

    async def list(self) -> list[tuple[SavedTemplate, int]]:
        """Every template with its newest version number (0: none yet), by name: one statement."""
        newest = (
            select(func.max(template_versions.c.version))
            .where(template_versions.c.template_id == templates.c.id)
            .scalar_subquery()
        )
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(*templates.c, newest.label("newest")).order_by(templates.c.name)
                )
            ).mappings().all()
        return [
            (SavedTemplate(**{k: v for k, v in row.items() if k != "newest"}), int(row["newest"] or 0))
            for row in rows
        ]

    async def versions(self, template_id: int) -> builtins.list[TemplateVersion]:
        """Every version of a template, newest first (none: an empty list)."""
        async with self.read() as conn:
            rows = (
                await conn.execute(
                    select(template_versions)
                    .where(template_versions.c.template_id == template_id)
                    .order_by(template_versions.c.version.desc())
                )
            ).mappings().all()
        return [_version(row) for row in rows]

    async def _template(self, conn: AsyncConnection, template_id: int) -> SavedTemplate:
        row = (
            await conn.execute(select(templates).where(templates.c.id == template_id))
        ).mappings().first()
        if row is None:
            raise NotFound(f"no template {template_id}")
        return SavedTemplate(**dict(row))
