"""An aiosmtpd server on loopback with STARTTLS, AUTH and scriptable answers, for e-mail tests.

Scripts: per-recipient RCPT answers (a list is consumed one answer per attempt, so
``["451 try later", "250 OK"]`` is "4xx then success"), DATA answers, and `stop()`
/ `start()` to make the server go away in the middle of a batch and come back.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.helpers.dovecot import free_port

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


_CERTS: dict[str, bytes] = {}


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (valid two days), made once per run."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if _CERTS:
        cert.write_bytes(_CERTS["cert"])
        key.write_bytes(_CERTS["key"])
        return cert, key
    subprocess.run(
        [
            OPENSSL,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    _CERTS.update(cert=cert.read_bytes(), key=key.read_bytes())
    return cert, key


@dataclass
class Received:
    """One accepted letter."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class ScriptedHandler:
    """Accepts everything unless a script says otherwise."""

    rcpt_script: dict[str, list[str]] = field(default_factory=dict)
    data_script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    rcpt_calls: int = 0

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.rcpt_calls += 1
        script = self.rcpt_script.get(address)
        if script:
            answer = script.pop(0) if len(script) > 1 else script[0]
            if not answer.startswith("250"):
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.data_script:
            answer = self.data_script.pop(0)
            if not answer.startswith("250"):
                return answer
        content = envelope.original_content or b""
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """A running aiosmtpd with the ways tests act on it."""

    port: int
    handler: ScriptedHandler
    cert: Path
    users: dict[str, str]
    implicit_tls: bool = False
    host: str = "127.0.0.1"
    controller: Controller | None = None

    def _auth(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and self.users.get(data.login.decode()) == data.password.decode()
        )
        return AuthResult(success=ok, handled=False)  # handled=True would drop a wrong password

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.cert.with_name("key.pem"))
        return ctx

    def start(self) -> None:
        ctx = self.context()
        kwargs: dict[str, Any] = {"ssl_context": ctx} if self.implicit_tls else {"tls_context": ctx}
        self.controller = Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            authenticator=self._auth,
            # aiosmtpd only counts STARTTLS as TLS; with implicit TLS the link is TLS anyway
            auth_require_tls=not self.implicit_tls,
            ready_timeout=10,
            **kwargs,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def url(self, user: str = "ivan") -> str:
        scheme = "smtps" if self.implicit_tls else "smtp+starttls"
        return f"{scheme}://{user}@{self.host}:{self.port}"


@contextmanager
def running_smtp(
    *, implicit_tls: bool = False, users: dict[str, str] | None = None
) -> Iterator[SmtpServer]:
    """An SMTP server for the length of a `with` block."""
    directory = Path(tempfile.mkdtemp(prefix="touchhub-smtp-", dir="/tmp"))
    cert, _ = make_cert(directory)
    server = SmtpServer(
        port=free_port(),
        handler=ScriptedHandler(),
        cert=cert,
        users=users or {"ivan": "ivanpw"},
        implicit_tls=implicit_tls,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
