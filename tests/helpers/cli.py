"""How tests run `touchhub`: one way, with a config file and a store, for every CLI test.

`Touchhub(db=..., config=..., env=...)` holds the global options a test always passes.
`ok()` runs a command that must succeed and returns its stdout, `fails()` one that must be
refused, `run()` either; all three run in-process (click's runner, fast) and check that no
traceback reached the output. `run_process()` and `start()` run the installed console
entry point as its own process, for what only a real process shows: the entry point
itself, signals, kill -9, a server that keeps running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from hub.cli import cli

#: The console script installed next to the interpreter running the tests.
TOUCHHUB = Path(sys.executable).with_name("touchhub")
PROCESS_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class CliResult:
    """What a command left behind."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together, for messages and searches."""
        return self.stdout + self.stderr


def assert_no_traceback(result: CliResult) -> None:
    """A command may fail, but with a message of ours, never a Python traceback."""
    assert "Traceback (most recent call last)" not in result.output, result.output


@dataclass(frozen=True)
class Touchhub:
    """`touchhub` with the global options of one test: a store URL and/or a config file."""

    db: str | None = None
    config: Path | None = None
    #: Extra environment variables (e.g. a password a config names as "env:...").
    env: Mapping[str, str] = field(default_factory=dict)
    #: `--lang` of human output: English, which the tests read, unless a test asks for
    #: another (None: the store's default, by `[web] locale` or `[kpi] timezone`).
    lang: str | None = "en"

    @classmethod
    def sqlite(cls, path: Path, *, config: Path | None = None) -> Touchhub:
        """A SQLite store in the file `path`."""
        return cls(db=f"sqlite:///{path}", config=config)

    def argv(self, *args: str) -> list[str]:
        """The command line after `touchhub`: global options, then `args`."""
        options = []
        if self.config is not None:
            options += ["--config", str(self.config)]
        if self.db is not None:
            options += ["--db", self.db]
        if self.lang is not None:
            options += ["--lang", self.lang]
        return [*options, *args]

    # -- in-process

    def run(self, *args: str, color: bool = False) -> CliResult:
        """Run a command in-process; an exception other than a clean exit is re-raised."""
        outcome = CliRunner().invoke(cli, self.argv(*args), env=dict(self.env), color=color)
        if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
            raise outcome.exception
        result = CliResult(outcome.exit_code, outcome.stdout, outcome.stderr)
        assert_no_traceback(result)
        return result

    def ok(self, *args: str, color: bool = False) -> str:
        """Run a command that must succeed; its stdout."""
        result = self.run(*args, color=color)
        assert result.exit_code == 0, result.output
        return result.stdout

    def fails(self, *args: str) -> CliResult:
        """Run a command that must be refused: non-zero exit and an error line."""
        result = self.run(*args)
        assert result.exit_code != 0, result.output
        assert "Error" in result.output, result.output
        return result

    # -- as a process of its own

    def process_env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}

    def run_process(self, *args: str, timeout: float = PROCESS_TIMEOUT_S) -> CliResult:
        """Run the console entry point to its end."""
        done = subprocess.run(
            [str(TOUCHHUB), *self.argv(*args)],
            env=self.process_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        result = CliResult(done.returncode, done.stdout, done.stderr)
        assert_no_traceback(result)
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start the console entry point and leave it running; the caller stops it.

        Its stderr (where the hub logs) is a pipe to read; its stdout is discarded.
        """
        return subprocess.Popen(
            [str(TOUCHHUB), *self.argv(*args)],
            env=self.process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
