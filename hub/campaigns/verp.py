"""Per-recipient VERP return paths: ``bounces+c12-r345-SIG@acme.ru`` names its recipient.

A DSN comes back to the envelope sender of the letter that failed, so a return path
that encodes the campaign and the recipient finds the recipient however mangled the
DSN is. `SIG` is the first 40 bits of HMAC-SHA256 (a key derived for VERP only) over
the campaign, the recipient and the recipient's address (case-folded), in lowercase
base32: the address is not in the return path, but a DSN can only suppress the address
the letter was sent to — someone who mails our bounce mailbox a made-up DSN, even with
a return path of their own letter, cannot suppress an address of their choosing. The
same signed tag may open our campaign Message-IDs (`message_id`), so a DSN that keeps
only the original headers still finds its recipient. Sans-IO: strings in, values out.
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
    """The campaign recipient a return path or Message-ID names, and its signature (not
    yet checked: `verify` checks it against the address a DSN reports)."""

    campaign_id: int
    recipient_id: int
    sig: str


def _sig(key: bytes, campaign_id: int, recipient_id: int, address: str) -> str:
    message = f"c{campaign_id}-r{recipient_id}\x00{address.strip().casefold()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest[:SIG_BYTES]).decode("ascii").lower()


def tag(keys: SigningKeys, campaign_id: int, recipient_id: int, address: str) -> str:
    """``c12-r345-abcdefgh``: the signed name of one recipient's letter to `address`."""
    for name, number in (("campaign_id", campaign_id), ("recipient_id", recipient_id)):
        if not 0 < number <= MAX_ID:
            raise ValidationError(f"{name} must be a positive 64-bit integer", field=name)
    key = keys.key(Purpose.VERP)
    assert key is not None
    return f"c{campaign_id}-r{recipient_id}-{_sig(key, campaign_id, recipient_id, address)}"


def verify(keys: SigningKeys, found: VerpTag, address: str) -> bool:
    """Whether `found` was made by us for a letter to `address` (any key we still hold)."""
    for key in keys.every(Purpose.VERP):  # a retired key still reads its bounces
        if hmac.compare_digest(found.sig, _sig(key, found.campaign_id, found.recipient_id, address)):
            return True
    return False


def _tag_of(match: re.Match[str]) -> VerpTag | None:
    campaign_id, recipient_id = int(match.group(1)), int(match.group(2))
    if campaign_id > MAX_ID or recipient_id > MAX_ID:
        return None
    return VerpTag(campaign_id=campaign_id, recipient_id=recipient_id, sig=match.group(3))


def return_path(
    keys: SigningKeys, bounce_address: str, campaign_id: int, recipient_id: int, address: str
) -> str:
    """The envelope sender of one recipient's letter to `address`: ``LOCAL+TAG@DOMAIN``."""
    local, at, domain = bounce_address.partition("@")
    if not local or not at or not domain or "+" in local or "@" in domain:
        raise ValidationError(
            f"bounce address {bounce_address!r} must be LOCAL@DOMAIN without '+'",
            field="bounce_address",
        )
    return f"{local}+{tag(keys, campaign_id, recipient_id, address)}@{domain}"


def parse(address: str, bounce_address: str) -> VerpTag | None:
    """The tag in a return path built on `bounce_address`; None if it is not one of ours.

    Mail systems may change the case of a local part; the tag is read in lower case.
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
    return None if match is None else _tag_of(match)


def message_id(
    keys: SigningKeys, campaign_id: int, recipient_id: int, address: str, domain: str
) -> str:
    """A fresh Message-ID that opens with the recipient's tag (``<TAG.RANDOM@DOMAIN>``)."""
    return f"<{tag(keys, campaign_id, recipient_id, address)}.{secrets.token_hex(6)}@{domain}>"


def parse_message_id(value: str) -> VerpTag | None:
    """The tag a Message-ID of ours (see `message_id`) opens with; None otherwise."""
    local = value.strip().strip("<>").partition("@")[0].lower()
    match = _TAG_AT_START.match(local)
    return None if match is None else _tag_of(match)
