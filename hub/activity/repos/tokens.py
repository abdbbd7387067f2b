"""API users and their bearer tokens, stored hashed and shown once."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.activity import generation
from hub.activity.principal import ROLES, Principal
from hub.activity.repos.base import Repo
from hub.activity.schema import api_tokens, api_users, employees
from hub.errors import NotFound, ValidationError
from hub.model import utcnow

TOKEN_BYTES = 32
#: How stale `last_used_at` may get before an authenticated request refreshes it.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: high-entropy secrets need no slow hash, only no plaintext."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRepo(Repo):
    """API users and their bearer tokens (stored hashed, shown once)."""

    async def create(self, name: str, role: str, *, employee_id: int | None = None) -> str:
        """Create (or reuse) user `name` with `role` and return a new token, shown only now."""
        if role not in ROLES:
            raise ValidationError(
                f"role must be one of {', '.join(ROLES)}, not {role!r}", field="role"
            )
        if role in ("head", "employee") and employee_id is None:
            raise ValidationError(
                f"a {role} token must name the employee it belongs to", field="employee"
            )
        token = "th_" + secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        async with self.tx() as work:
            conn = work.conn
            if (
                employee_id is not None
                and await conn.scalar(select(employees.c.id).where(employees.c.id == employee_id))
                is None
            ):
                raise NotFound(f"employee #{employee_id} does not exist")
            user = (
                (await conn.execute(select(api_users).where(api_users.c.name == name)))
                .mappings()
                .first()
            )
            if user is None:
                try:
                    user_id = (
                        await conn.execute(
                            insert(api_users).returning(api_users.c.id),
                            {
                                "name": name,
                                "role": role,
                                "employee_id": employee_id,
                                "created_at": now,
                            },
                        )
                    ).scalar_one()
                except IntegrityError as exc:
                    raise ValidationError(f"user {name!r} exists", field="name") from exc
            else:
                user_id = user["id"]
                await conn.execute(
                    update(api_users)
                    .where(api_users.c.id == user_id)
                    .values(role=role, employee_id=employee_id)
                )
            await conn.execute(
                insert(api_tokens),
                {
                    "user_id": user_id,
                    "token_hash": hash_token(token),
                    "prefix": token[:10],
                    "created_at": now,
                },
            )
        return token

    async def authenticate(self, token: str) -> Principal | None:
        """The principal a bearer token belongs to, or None."""
        async with self.tx() as work:
            conn = work.conn
            row = (
                (
                    await conn.execute(
                        select(
                            api_users.c.id,
                            api_users.c.name,
                            api_users.c.role,
                            api_users.c.employee_id,
                            api_tokens.c.id.label("token_id"),
                            api_tokens.c.last_used_at,
                        )
                        .join(api_tokens, api_tokens.c.user_id == api_users.c.id)
                        .where(
                            and_(
                                api_tokens.c.token_hash == hash_token(token),
                                api_tokens.c.revoked_at.is_(None),
                            )
                        )
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            now = utcnow()
            last = row["last_used_at"]
            if last is None or now - last > TOKEN_TOUCH_INTERVAL:  # a write per request is costly
                await conn.execute(
                    update(api_tokens)
                    .where(api_tokens.c.id == row["token_id"])
                    .values(last_used_at=now)
                )
                # When a token was last used is no answer's data: it leaves the store's
                # generation alone, or every user's first request a minute would make
                # every cached KPI answer compute again (decision 0062).
                generation.forget_writes(conn)
        return Principal(
            name=row["name"], role=row["role"], employee_id=row["employee_id"], user_id=row["id"]
        )

    async def revoke(self, prefix: str) -> int:
        async with self.tx() as work:
            conn = work.conn
            result = await conn.execute(
                update(api_tokens)
                .where(and_(api_tokens.c.prefix == prefix, api_tokens.c.revoked_at.is_(None)))
                .values(revoked_at=utcnow())
            )
        return int(result.rowcount or 0)
