"""Signed contact tokens for `/start` deep links: the hub names a contact, the client's
Telegram account is linked to it when the client opens the link.

A token is ``c<contact id>_<mac>``: the mac is HMAC-SHA256 over the contact id with the
hub's `link_secret`, cut to 18 bytes and base64url-encoded (24 characters), so a token
fits Telegram's 64-character start parameter (A-Z a-z 0-9 _ -). Nobody without the
secret can make a token for another contact. No I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

#: Bytes of the HMAC kept in a token: 144 bits, beyond guessing.
MAC_BYTES = 18
_TOKEN = re.compile(r"c([1-9][0-9]{0,18})_([A-Za-z0-9_-]{24})")
#: Telegram's limit on the start parameter.
MAX_START_PARAMETER = 64


def _mac(secret: bytes, contact_id: int) -> str:
    digest = hmac.new(secret, f"touchhub:contact:{contact_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")


def contact_token(secret: bytes, contact_id: int) -> str:
    """The token that links whoever opens it to contact `contact_id`."""
    if contact_id < 1:
        raise ValueError("a contact id is a positive integer")
    return f"c{contact_id}_{_mac(secret, contact_id)}"


def verify_contact_token(secret: bytes, token: str) -> int | None:
    """The contact id a token names, or None when it is not one this secret signed."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        return None
    contact_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _mac(secret, contact_id)):
        return None
    return contact_id


def deep_link(username: str, token: str) -> str:
    """The t.me link that opens the bot `username` with `/start <token>`."""
    return f"https://t.me/{username.lstrip('@')}?start={token}"
