"""`touchhub demo seed`: a demo team, client base and a year of touches, bulk-loaded."""

from __future__ import annotations

import time

import click

from hub.cli.common import Progress, emit_json, open_store, run, settings_of
from hub.demo import default_sizes, seed


@click.group()
def demo() -> None:
    """Demo data for trying touchhub and for benchmarks."""


@demo.command(name="seed")
@click.option(
    "--activities", "n_activities", default=100_000, show_default=True, type=click.IntRange(0)
)
@click.option(
    "--employees", default=None, type=click.IntRange(1), help="Default: scaled to --activities."
)
@click.option(
    "--contacts", default=None, type=click.IntRange(1), help="Default: scaled to --activities."
)
@click.option("--seed", "random_seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def seed_cmd(
    ctx: click.Context,
    n_activities: int,
    employees: int | None,
    contacts: int | None,
    random_seed: int,
    as_json: bool,
) -> None:
    """Load employees (heads and their people), contacts and N activities over 12 months."""
    settings = settings_of(ctx)
    emp_default, contact_default = default_sizes(n_activities)

    async def main() -> dict[str, int]:
        async with open_store(ctx) as store:
            with Progress("activities", n_activities) as bar:
                done = 0

                def advance(written: int, _total: int) -> None:
                    nonlocal done
                    bar.advance(written - done)
                    done = written

                result = await seed(
                    store.engine,
                    activities=n_activities,
                    employees=employees or emp_default,
                    contacts=contacts or contact_default,
                    progress=advance,
                    seed=random_seed,
                    timezone=settings.kpi.timezone,
                )
            return result.as_dict()

    started = time.perf_counter()
    summary = run(main())
    summary_s = round(time.perf_counter() - started, 1)
    if as_json:
        emit_json({**summary, "seconds": summary_s})
        return
    click.echo(
        f"seeded {summary['employees']} employees, {summary['contacts']} contacts, "
        f"{summary['activities']} activities ({summary['rollup_rows']} roll-up rows) in {summary_s} s"
    )
