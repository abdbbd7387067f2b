"""Kannel 1.4.5 (bearerbox + smsbox) with its fake SMSC on free loopback ports, for tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
ADMIN_PASSWORD = "adminpw"
USERNAME = "tester"
PASSWORD = "testpw"
READY_TIMEOUT_S = 15.0

CONFIG = """\
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = {admin_password}
admin-allow-ip = 127.0.0.1
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{d}/bearerbox.log"
log-level = 0
access-log = "{d}/access.log"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = FAKE
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{d}/smsbox.log"
log-level = 0

group = sendsms-user
username = {username}
password = {password}

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{get_url}"
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Kannel:
    """A running Kannel: where sendsms answers."""

    sendsms_url: str
    directory: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _wait(predicate: object, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"Kannel: {what} not ready within {READY_TIMEOUT_S}s")


@contextlib.contextmanager
def running_kannel(
    get_url: str, mo: tuple[str, str, str], *, sendsms_port: int | None = None
) -> Iterator[Kannel]:
    """bearerbox, smsbox and a fakesmsc link that sends one incoming SMS (sender, receiver,
    text) to `get_url` and then takes what we send; sendsms on `sendsms_port` if given."""
    for binary in ("bearerbox", "smsbox"):
        if shutil.which(binary) is None:
            raise RuntimeError(f"{binary} missing: scripts/test.sh installs the kannel package")
    directory = Path(tempfile.mkdtemp(prefix="touchhub-kannel-"))
    ports = {"admin": _free_port(), "box": _free_port(), "smsc": _free_port(), "sendsms": sendsms_port or _free_port()}
    config = directory / "kannel.conf"
    config.write_text(
        CONFIG.format(
            d=directory,
            admin_password=ADMIN_PASSWORD,
            username=USERNAME,
            password=PASSWORD,
            get_url=get_url,
            **ports,
        )
    )
    admin = f"http://127.0.0.1:{ports['admin']}"
    status_url = f"{admin}/status.txt?password={ADMIN_PASSWORD}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(subprocess.Popen(["bearerbox", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        _wait(lambda: _answers(status_url), "bearerbox")
        processes.append(subprocess.Popen(["smsbox", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        sendsms = f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms"
        _wait(lambda: _answers(sendsms), "smsbox")
        sender, receiver, text = mo
        processes.append(subprocess.Popen(
            [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(ports["smsc"]), "-i", "0.2", "-m", "1",
             f"{sender} {receiver} text {text}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        ))

        def online() -> bool:
            with urllib.request.urlopen(status_url, timeout=1) as r:
                return b"online" in r.read()

        _wait(online, "fake SMSC link")
        yield Kannel(sendsms_url=sendsms, directory=directory)
    finally:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{admin}/shutdown?password={ADMIN_PASSWORD}", timeout=2).close()
        for process in reversed(processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=3)
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=3)
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(directory, ignore_errors=True)
