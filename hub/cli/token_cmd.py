"""`touchhub token create|revoke`: API bearer tokens, stored hashed, shown once."""

from __future__ import annotations

import click

from hub import i18n
from hub.activity import ROLES
from hub.cli.common import locale_of, open_store, run


@click.group()
def token() -> None:
    """API tokens."""


@token.command()
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default=None, help="User name (default: the role, or the employee's name).")
@click.option(
    "--employee", default=None, help="Employee the token belongs to (heads and employees)."
)
@click.pass_context
def create(ctx: click.Context, role: str, name: str | None, employee: str | None) -> None:
    """Create a token; it is printed once and stored only as a hash."""

    async def main() -> str:
        async with open_store(ctx) as store:
            employee_id = await store.employees.resolve(employee) if employee else None
            user = name or (employee and f"{role}:{employee}") or role
            return await store.tokens.create(user, role, employee_id=employee_id)

    click.echo(run(main()))


@token.command()
@click.argument("prefix")
@click.pass_context
def revoke(ctx: click.Context, prefix: str) -> None:
    """Revoke tokens by their first 10 characters."""

    async def main() -> int:
        async with open_store(ctx) as store:
            return await store.tokens.revoke(prefix)

    click.echo(i18n.text(locale_of(ctx), "cli.revoked", n=run(main())))
