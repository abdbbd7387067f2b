"""A real PostgreSQL server on a free loopback port, for tests and benchmarks.

`initdb` refuses root, so as root the cluster belongs to the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
START_TIMEOUT_S = 30


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server binary (they are not on PATH on Debian)."""
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (apt-get install postgresql)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PostgresServer:
    """A running throw-away cluster; `url(db)` gives a connection URL."""

    port: int
    directory: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """A new database (a copy of `template` when given); its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        copy = ["-T", template] if template else []
        subprocess.run(
            _as_owner(
                [
                    pg_bin("createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    *copy,
                    name,
                ]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        return self.url(name)


@contextlib.contextmanager
def running_postgres(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Start PostgreSQL on a free loopback port; `durable` keeps fsync on (benchmarks)."""
    directory = Path(tempfile.mkdtemp(prefix="touchhub-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    data = directory / "data"
    subprocess.run(
        _as_owner(
            [
                pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    options = f"-h 127.0.0.1 -p {port} -k {directory}"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        _as_owner(
            [
                pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(directory / "pg.log"),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-o",
                options,
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=START_TIMEOUT_S + 10,
    )
    try:
        yield PostgresServer(port=port, directory=directory)
    finally:
        subprocess.run(
            # a throwaway server's data is deleted next: no shutdown checkpoint to wait for
            _as_owner(
                [pg_bin("pg_ctl"), "-D", str(data), "-m", "fast" if durable else "immediate", "-w", "stop"]
            ),
            capture_output=True,
            timeout=60,
        )
        if durable:
            shutil.rmtree(directory, ignore_errors=True)
        else:  # a session's databases are gigabytes of small files: nobody needs to wait
            subprocess.Popen(
                ["rm", "-rf", str(directory)],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
