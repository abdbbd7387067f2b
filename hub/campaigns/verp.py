"""Per-recipient VERP return paths: ``bounces+c12-r345-SIG@acme.ru`` names its recipient.

A DSN comes back to the envelope sender of the letter that failed, so a return path
that encodes the campaign and the recipient finds the recipient however mangled the
DSN is. `SIG` is the first 40 bits of HMAC-SHA256 over ``c12-r345`` (a key derived for
VERP only), in lowercase base32: someone who can mail our bounce mailbox cannot make a
DSN that suppresses an address of their choosing. The same signed tag may open our
campaign Message-IDs (`message_id`), so a DSN that keeps only the original headers
still finds its recipient. Sans-IO: strings in, values out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from hub.campaigns.signing import Purpose, SigningKeys
from hub.errors import ValidationError

#: Bytes of the HMAC kept in the tag (40 bits: 8 base32 characters).
SIG_BYTES = 5
#: Largest campaign or recipient id a tag carries.
MAX_ID = 2**63 - 1
#: ``c<campaign>-r<recipient>-<sig>``; digits without leading zeros, sig in base32.
_TAG = re.compile(r"c([1-9][0-9]{0,18})-r([1-9][0-9]{0,18})-([a-z2-7]{8})", re.ASCII)
_TAG_AT_START = re.compile(_TAG.pattern + r"(?=$|[.@])", re.ASCII)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerpTag:
    """The campaign recipient a return path or Message-ID names."""

    campaign_id: int
    recipient_id: int


def _sig(key: bytes, campaign_id: int, recipient_id: int) -> str:
    digest = hmac.new(key, f"c{campaign_id}-r{recipient_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:SIG_BYTES]).decode("ascii").lower()


def tag(keys: SigningKeys, campaign_id: int, recipient_id: int) -> str:
    """``c12-r345-abcdefgh``: the signed name of one recipient, signed with the current key."""
    for name, number in (("campaign_id", campaign_id), ("recipient_id", recipient_id)):
        if not 0 < number <= MAX_ID:
            raise ValidationError(f"{name} must be a positive 64-bit integer", field=name)
    key = keys.key(Purpose.VERP)
    assert key is not None
    return f"c{campaign_id}-r{recipient_id}-{_sig(key, campaign_id, recipient_id)}"


def _checked(keys: SigningKeys, match: re.Match[str]) -> VerpTag | None:
    campaign_id, recipient_id = int(match.group(1)), int(match.group(2))
    if campaign_id > MAX_ID or recipient_id > MAX_ID:
        return None
    given = match.group(3)
    for key in keys.every(Purpose.VERP):  # a retired key still reads its bounces
        if hmac.compare_digest(given, _sig(key, campaign_id, recipient_id)):
            return VerpTag(campaign_id=campaign_id, recipient_id=recipient_id)
    return None


def return_path(keys: SigningKeys, bounce_address: str, campaign_id: int, recipient_id: int) -> str:
    """The envelope sender of one recipient's letter: ``LOCAL+TAG@DOMAIN``."""
    local, at, domain = bounce_address.partition("@")
    if not local or not at or not domain or "+" in local:
        raise ValidationError(
            f"bounce address {bounce_address!r} must be LOCAL@DOMAIN without '+'",
            field="bounce_address",
        )
    return f"{local}+{tag(keys, campaign_id, recipient_id)}@{domain}"


def decode(keys: SigningKeys, address: str, bounce_address: str) -> VerpTag | None:
    """The recipient a return path of ours names; None if it is not ours or not signed by us.

    Mail systems may change the case of a local part; the tag is compared in lower case.
    """
    local, _, domain = address.strip().strip("<>").rpartition("@")
    base_local, _, base_domain = bounce_address.rpartition("@")
    base, plus, token = local.partition("+")
    if (
        not plus
        or base.casefold() != base_local.casefold()
        or domain.casefold() != base_domain.casefold()
    ):
        return None
    match = _TAG.fullmatch(token.lower())
    return None if match is None else _checked(keys, match)


def message_id(keys: SigningKeys, campaign_id: int, recipient_id: int, domain: str) -> str:
    """A fresh Message-ID that opens with the recipient's tag (``<TAG.RANDOM@DOMAIN>``)."""
    return f"<{tag(keys, campaign_id, recipient_id)}.{secrets.token_hex(6)}@{domain}>"


def decode_message_id(keys: SigningKeys, value: str) -> VerpTag | None:
    """The recipient a Message-ID of ours (see `message_id`) names; None otherwise."""
    local = value.strip().strip("<>").partition("@")[0].lower()
    match = _TAG_AT_START.match(local)
    return None if match is None else _checked(keys, match)
