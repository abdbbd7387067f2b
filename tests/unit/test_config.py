"""`hub.config`'s worker link: what a web worker of `serve --workers N` is told, through
its environment, and that its secret never prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.config import WORKER_PARENT_ENV, WORKER_SECRET_ENV, WorkerLink, load_settings, worker_link
from hub.errors import ConfigError
from hub.urls import sqlite_path

SECRET = "k3y-" + "x" * 39


def test_a_worker_reads_the_link_its_main_process_wrote() -> None:
    sent = WorkerLink(secret=SecretStr(SECRET), parent=4242)
    environ = sent.environ({"PATH": "/bin"})
    assert environ["PATH"] == "/bin" and environ[WORKER_PARENT_ENV] == "4242"
    assert worker_link(environ) == sent
    assert worker_link(environ).secret.get_secret_value() == SECRET


def test_the_secret_is_masked_wherever_the_link_prints() -> None:
    link = WorkerLink(secret=SecretStr(SECRET), parent=1)
    for shown in (repr(link), str(link), f"{link}", f"{link!r}"):
        assert SECRET not in shown and "parent=1" in shown


@pytest.mark.parametrize(
    ("environ", "parent"), [({}, 0), ({WORKER_PARENT_ENV: "17"}, 17), ({WORKER_SECRET_ENV: "s"}, 0)]
)
def test_an_unsaid_parent_is_zero(environ: dict[str, str], parent: int) -> None:
    assert worker_link(environ).parent == parent


@pytest.mark.parametrize("bad", ["", "-1", "12a", "١٢"])
def test_a_parent_that_is_no_pid_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=WORKER_PARENT_ENV):
        worker_link({WORKER_PARENT_ENV: bad})


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ('[kpi]\ntimezone = "Europe/Moskva"', "kpi.timezone: unknown time zone 'Europe/Moskva': use an IANA name"),
        ('[sms]\ncompany_timezone = "Mars/Base"', "sms.company_timezone: unknown time zone 'Mars/Base'"),
        ('[store]\ndefault_region = "XX"', "store.default_region: unknown region 'XX': a two-letter country code"),
    ],
)
def test_a_zone_or_region_nobody_knows_is_refused_when_the_config_is_read(
    tmp_path: Path, section: str, said: str
) -> None:
    """A typo in the company's time zone ended in a traceback at the first command."""
    config = tmp_path / "touchhub.toml"
    config.write_text(section + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert said in str(refused.value) and "Value error" not in str(refused.value)


def test_a_region_is_read_in_any_case(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text('[store]\ndefault_region = "kz"\n', encoding="utf-8")
    assert load_settings(config).store.default_region == "KZ"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/touchhub.db", "data/touchhub.db"),
        ("sqlite:////var/lib/touchhub/hub.db", "/var/lib/touchhub/hub.db"),
        ("sqlite+aiosqlite:///hub.db?mode=ro", "hub.db"),
        ("sqlite:///~/hub.db", "~/hub.db"),
        ("sqlite+aiosqlite:///%3Amemory%3A", None),  # how an engine's URL renders a memory one
        ("sqlite+aiosqlite:////tmp/my%20store/hub.db", "/tmp/my store/hub.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:hub?uri=true", None),
        ("postgresql://touchhub@127.0.0.1/hub", None),
        ("not a url", None),
    ],
)
def test_the_file_an_sqlite_url_names(url: str, path: str | None) -> None:
    assert sqlite_path(url) == path
