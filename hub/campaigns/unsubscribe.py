"""Signed unsubscribe links and the List-Unsubscribe headers (RFC 2369, RFC 8058 one-click).

A token is ``KEYID.PAYLOAD.SIGNATURE`` (base64url, no padding): the payload packs the
token version, the campaign, the recipient, the contact, the address kind and a keyed
12-byte hash of the normalised address; the signature is HMAC-SHA256 (first 16 bytes)
over the key id and the payload, with a key derived for this purpose only. No address
or name is in the link; the hub finds the address among the contact's identities by its
hash. Verification compares in constant time and needs no expiry; a retired secret still
verifies the links it signed (`hub.campaigns.signing`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from urllib.parse import quote

from hub.campaigns.signing import Purpose, SigningKeys
from hub.errors import ConfigError, PermissionDenied, ValidationError
from hub.model import AddressKind, Channel

#: The payload layout of version 1: version, campaign, recipient, contact, kind, address hash.
_LAYOUT = struct.Struct(">BQQQB12s")
VERSION = 1
#: Bytes of HMAC-SHA256 kept as the signature (128 bits).
SIGNATURE_BYTES = 16
#: Bytes of the keyed address hash.
ADDRESS_HASH_BYTES = 12
#: Longest token looked at; ours are about 90 characters.
MAX_TOKEN_CHARS = 200
#: The path unsubscribe links live under (`hub.web.unsubscribe_pages`).
PATH_PREFIX = "/u/"
#: The body an RFC 8058 one-click POST carries, and the header that announces it.
ONE_CLICK = "List-Unsubscribe=One-Click"

#: Address kinds a token may carry, as one byte, and the channel each unsubscribes from.
_KIND_CODES: dict[AddressKind, int] = {AddressKind.EMAIL: 1, AddressKind.PHONE: 2}
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}
CHANNEL_OF_KIND: dict[AddressKind, Channel] = {
    AddressKind.EMAIL: Channel.EMAIL,
    AddressKind.PHONE: Channel.SMS,
}


class ForgedToken(PermissionDenied):
    """An unsubscribe token that is malformed, signed by no key we know, or altered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UnsubscribeToken:
    """What a verified token says: whose address, from which campaign's letter."""

    key_id: str
    campaign_id: int
    recipient_id: int
    contact_id: int
    kind: AddressKind
    address_hash: bytes

    @property
    def channel(self) -> Channel:
        """The channel the address is unsubscribed from."""
        return CHANNEL_OF_KIND[self.kind]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty or non-ASCII")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def address_hash(keys: SigningKeys, kind: AddressKind, value: str, key_id: str | None = None) -> bytes:
    """The keyed hash of a normalised address (as `identities.value` holds it)."""
    key = keys.key(Purpose.ADDRESS, key_id)
    if key is None:
        raise ForgedToken(f"unknown key id {key_id!r}")
    message = f"{kind.value}\x00{value}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:ADDRESS_HASH_BYTES]


def _signature(key: bytes, key_id: str, payload: bytes) -> bytes:
    return hmac.new(key, key_id.encode() + b"." + payload, hashlib.sha256).digest()[
        :SIGNATURE_BYTES
    ]


def issue(
    keys: SigningKeys,
    *,
    campaign_id: int,
    recipient_id: int,
    contact_id: int,
    kind: AddressKind,
    address: str,
) -> str:
    """A token for one recipient's address (normalised, as in `identities.value`)."""
    if kind not in _KIND_CODES:
        raise ValidationError(f"cannot unsubscribe a {kind.value} address", field="kind")
    for name, number in (
        ("campaign_id", campaign_id),
        ("recipient_id", recipient_id),
        ("contact_id", contact_id),
    ):
        if not 0 < number < 2**63:
            raise ValidationError(f"{name} must be a positive 64-bit integer", field=name)
    digest = address_hash(keys, kind, address)
    payload = _LAYOUT.pack(VERSION, campaign_id, recipient_id, contact_id, _KIND_CODES[kind], digest)
    key = keys.key(Purpose.UNSUBSCRIBE)
    assert key is not None  # the current key always exists (SigningKeys checks)
    return f"{keys.current}.{_b64(payload)}.{_b64(_signature(key, keys.current, payload))}"


def verify(keys: SigningKeys, token: str) -> UnsubscribeToken:
    """The token's content if one of our keys signed exactly it; `ForgedToken` otherwise."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise ForgedToken("not an unsubscribe token")
    key_id, payload_text, signature_text = token.split(".")
    key = keys.key(Purpose.UNSUBSCRIBE, key_id) if key_id.isascii() else None
    if key is None:
        raise ForgedToken("signed with a key this hub does not have")
    try:
        payload, signature = _unb64(payload_text), _unb64(signature_text)
    except (ValueError, binascii.Error) as exc:
        raise ForgedToken("not base64url") from exc
    if not hmac.compare_digest(signature, _signature(key, key_id, payload)):
        raise ForgedToken("the signature does not match")
    if len(payload) != _LAYOUT.size:
        raise ForgedToken("payload of the wrong size")
    version, campaign, recipient, contact, code, digest = _LAYOUT.unpack(payload)
    if version != VERSION or code not in _CODE_KINDS or 0 in (campaign, recipient, contact):
        raise ForgedToken(f"unknown token version {version} or address kind {code}")
    return UnsubscribeToken(
        key_id=key_id,
        campaign_id=campaign,
        recipient_id=recipient,
        contact_id=contact,
        kind=_CODE_KINDS[code],
        address_hash=digest,
    )


def names_address(keys: SigningKeys, token: UnsubscribeToken, value: str) -> bool:
    """Whether the verified `token` was issued for this normalised address (constant time)."""
    expected = address_hash(keys, token.kind, value, token.key_id)
    return hmac.compare_digest(expected, token.address_hash)


def unsubscribe_url(public_url: str | None, token: str) -> str:
    """The link for a token, under `[web] public_url`."""
    if not public_url:
        raise ConfigError("web.public_url is not set: unsubscribe links need the hub's address")
    return f"{public_url.rstrip('/')}{PATH_PREFIX}{token}"


def _bracketable(uri: str, what: str) -> str:
    if any(c in uri for c in "<>,\r\n\t ") or not uri.isascii():
        raise ValidationError(f"{what} cannot go in a List-Unsubscribe header: {uri[:60]!r}")
    return uri


def list_unsubscribe_headers(url: str, mailto: str | None = None) -> dict[str, str]:
    """`List-Unsubscribe` (the link, then a mailto if given) and the RFC 8058 one-click
    `List-Unsubscribe-Post`, for a letter to one recipient."""
    if not url.startswith(("https://", "http://")):
        raise ValidationError("the unsubscribe link must be an http(s) URL", field="url")
    targets = [f"<{_bracketable(url, 'the link')}>"]
    if mailto:
        if mailto.count("@") != 1 or any(c in mailto for c in '<>,;"() \t\r\n'):
            raise ValidationError("mailto must be one plain address", field="mailto")
        target = f"mailto:{quote(mailto, safe='@')}?subject=unsubscribe"
        targets.append(f"<{_bracketable(target, 'the mailto address')}>")
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": ONE_CLICK}
