"""`hub.config`'s worker link: what a web worker of `serve --workers N` is told, through
its environment, and that its secret never prints."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hub.config import WORKER_PARENT_ENV, WORKER_SECRET_ENV, WorkerLink, worker_link
from hub.errors import ConfigError

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
