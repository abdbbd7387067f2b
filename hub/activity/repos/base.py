"""What every repository shares: its engine and options, transactions that speak our
errors, case folding in SQL and rows as JSON-ready dicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.activity.options import StoreOptions
from hub.activity.rollups.projections import Projections
from hub.activity.unit_of_work import UnitOfWork, writing
from hub.errors import Conflict, StoreUnavailable, ValidationError

#: The longest page any listing hands out.
MAX_PAGE = 500


#: The longest name of a saved segment, template, campaign or trigger.
MAX_NAME = 200


def checked_name(name: str, thing: str, limit: int = MAX_NAME) -> str:
    """A saved thing's name, stripped: 1 to `limit` characters with no NUL. Here, not only
    in the API's body models, so that the command line is held to the same rule."""
    stripped = name.strip()
    if not stripped or len(stripped) > limit:
        raise ValidationError(f"a {thing} name has 1 to {limit} characters", field="name")
    if "\x00" in stripped:
        raise ValidationError(f"a {thing} name must not contain NUL characters", field="name")
    return stripped


def fold(dialect: str, column: Any) -> Any:
    """Case-fold a text column in SQL, Cyrillic included (SQLite's lower() is ASCII-only)."""
    return func.th_fold(column) if dialect == "sqlite" else func.lower(column)


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its times as ISO strings."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Driver errors as touchhub errors: a race on a unique key is a `Conflict`, a lost or
    locked database is `StoreUnavailable`."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"conflicts with an existing record: {exc.orig}") from exc
    except (OperationalError, InterfaceError, OSError) as exc:
        raise StoreUnavailable(f"the store cannot be reached: {getattr(exc, 'orig', exc)}") from exc


class Repo:
    """A set of named queries over one engine, with the store's options."""

    def __init__(self, engine: AsyncEngine, options: StoreOptions) -> None:
        self.engine = engine
        self.options = options
        self.projections = Projections.declared(options.tz)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[UnitOfWork]:
        """A write transaction, as a unit of work: the activities and contacts reported
        changed on it reach every projection before it commits; database errors come out
        as touchhub errors."""
        async with translated(), writing(self.projections, self.engine) as work:
            yield work

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read connection; database errors come out as touchhub errors."""
        async with translated(), self.engine.connect() as conn:
            yield conn
