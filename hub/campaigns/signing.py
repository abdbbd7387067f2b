"""The hub's signing keys for campaign links and return paths: one current, some retired.

A secret is never used directly: each purpose (unsubscribe links, address hashes, VERP
addresses) gets its own key derived with HMAC-SHA256, so a value signed for one purpose
never verifies as another. Links name the key that signed them (`key_id`), so the secret
can rotate: the new one signs, the retired ones still verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from hub.campaigns.settings import CampaignSettings
from hub.errors import ConfigError


class Purpose(StrEnum):
    """What a derived key signs."""

    UNSUBSCRIBE = "touchhub/unsubscribe/v1"
    ADDRESS = "touchhub/unsubscribe-address/v1"
    VERP = "touchhub/verp/v1"


def derive(secret: bytes, purpose: Purpose) -> bytes:
    """The key of one purpose, from a secret."""
    return hmac.new(secret, purpose.value.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The current key id and every secret still accepted, by key id."""

    current: str
    secrets: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current not in self.secrets:
            raise ConfigError(f"campaigns: no secret for the current key id {self.current!r}")

    @classmethod
    def of(cls, settings: CampaignSettings) -> SigningKeys:
        """The keys `[campaigns]` configures; `ConfigError` when no secret is set."""
        if settings.secret is None:
            raise ConfigError(
                "campaigns.secret is not set: unsubscribe links and VERP addresses need it"
            )
        secrets = {kid: s.get_secret_value().encode() for kid, s in settings.retired_secrets.items()}
        secrets[settings.key_id] = settings.secret.get_secret_value().encode()
        return cls(current=settings.key_id, secrets=secrets)

    @classmethod
    def single(cls, secret: bytes, key_id: str = "1") -> SigningKeys:
        """One key (tests, tools)."""
        return cls(current=key_id, secrets={key_id: secret})

    def key(self, purpose: Purpose, key_id: str | None = None) -> bytes | None:
        """The derived key of `purpose` for `key_id` (default: current); None if unknown."""
        secret = self.secrets.get(self.current if key_id is None else key_id)
        return None if secret is None else derive(secret, purpose)

    def every(self, purpose: Purpose) -> list[bytes]:
        """The derived keys of `purpose`, the current one first (for values without a key id)."""
        ordered = [self.current, *sorted(k for k in self.secrets if k != self.current)]
        return [derive(self.secrets[k], purpose) for k in ordered]
