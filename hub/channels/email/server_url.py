"""Mail server URLs (`imap+starttls://USER@HOST:PORT`) parsed once, printed masked."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, urlsplit

from hub.errors import ConfigError


class Security(StrEnum):
    """How the link is protected: not at all, upgraded with STARTTLS, or TLS from the start."""

    PLAIN = "plain"
    STARTTLS = "starttls"
    TLS = "tls"


#: scheme → (protocol, security, default port)
SCHEMES: dict[str, tuple[str, Security, int]] = {
    "imap": ("imap", Security.PLAIN, 143),
    "imap+starttls": ("imap", Security.STARTTLS, 143),
    "imaps": ("imap", Security.TLS, 993),
    "smtp": ("smtp", Security.PLAIN, 25),
    "smtp+starttls": ("smtp", Security.STARTTLS, 587),
    "smtps": ("smtp", Security.TLS, 465),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerUrl:
    """Where a mail server is and how to reach it; never holds the password."""

    protocol: str
    security: Security
    host: str
    port: int
    user: str = ""  # empty: an SMTP relay that takes letters without AUTH

    @classmethod
    def parse(cls, url: str, *, protocol: str, where: str = "") -> ServerUrl:
        """Parse `url`, refusing other protocols and passwords written into the URL."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"{where}: cannot parse {mask(url)!r}: {exc}") from exc
        scheme = SCHEMES.get(parts.scheme.lower())
        if scheme is None or scheme[0] != protocol:
            allowed = ", ".join(f"{s}://" for s, v in SCHEMES.items() if v[0] == protocol)
            raise ConfigError(f"{where}: {mask(url)!r} is not one of {allowed}")
        if parts.password is not None:
            raise ConfigError(f'{where}: put the password in `password = "env:…"`, not in the URL')
        if not parts.hostname or (protocol == "imap" and not parts.username):
            raise ConfigError(f"{where}: {mask(url)!r} needs USER@HOST")
        return cls(
            protocol=protocol,
            security=scheme[1],
            host=parts.hostname,
            port=port or scheme[2],
            user=unquote(parts.username or ""),
        )

    def __str__(self) -> str:
        scheme = next(s for s, v in SCHEMES.items() if v[:2] == (self.protocol, self.security))
        user = f"{self.user}@" if self.user else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def mask(url: str) -> str:
    """Return `url` with any password replaced by ``***`` (for logs and messages)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return "<unparsable url>"
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()
