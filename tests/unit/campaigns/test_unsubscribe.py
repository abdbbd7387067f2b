"""Unsubscribe tokens and List-Unsubscribe headers: round trip, forgeries, rotation."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.campaigns import unsubscribe as u
from hub.campaigns.signing import SigningKeys
from hub.errors import ConfigError, ValidationError
from hub.model import AddressKind, Channel

KEYS = SigningKeys.single(b"s" * 32, "k1")
ids = st.integers(min_value=1, max_value=2**63 - 1)
kinds = st.sampled_from([AddressKind.EMAIL, AddressKind.PHONE])


def _issue(keys: SigningKeys = KEYS, address: str = "anna@client.ru") -> str:
    return u.issue(
        keys, campaign_id=12, recipient_id=345, contact_id=6, kind=AddressKind.EMAIL, address=address
    )


@given(campaign=ids, recipient=ids, contact=ids, kind=kinds, address=st.text(max_size=320))
def test_round_trip(campaign: int, recipient: int, contact: int, kind: AddressKind, address: str) -> None:
    token = u.issue(
        KEYS,
        campaign_id=campaign,
        recipient_id=recipient,
        contact_id=contact,
        kind=kind,
        address=address,
    )
    assert len(token) <= u.MAX_TOKEN_CHARS
    assert all(c.isalnum() or c in "-_." for c in token)  # a URL path segment as it is
    seen = u.verify(KEYS, token)
    assert (seen.campaign_id, seen.recipient_id, seen.contact_id, seen.kind) == (
        campaign,
        recipient,
        contact,
        kind,
    )
    assert u.names_address(KEYS, seen, address)
    assert not u.names_address(KEYS, seen, address + "x")


def test_no_personal_data_in_clear() -> None:
    token = _issue(address="anna.petrova@client.ru")
    for part in token.split("."):
        padded = part + "=" * (-len(part) % 4)
        assert b"anna" not in base64.urlsafe_b64decode(padded)
    assert "anna" not in token


def test_channel_follows_the_kind() -> None:
    assert u.verify(KEYS, _issue()).channel is Channel.EMAIL


def _flip(text: str, index: int) -> str:
    swapped = "A" if text[index] != "A" else "B"
    return text[:index] + swapped + text[index + 1 :]


@given(index=st.integers(min_value=3, max_value=80))
def test_any_changed_character_is_refused(index: int) -> None:
    token = _issue()
    if index >= len(token) or token[index] == ".":
        return
    forged = _flip(token, index)
    try:
        verified = u.verify(KEYS, forged)
    except u.ForgedToken:
        return
    # base64url's last character carries spare bits: the same bytes may read back
    assert verified == u.verify(KEYS, token)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "k1..", "k1.AAAA.AAAA", "zz.AAAA.AAAA", "k1.!!!.???", "k1.a.b.c", "x" * 500, "k1.ä.b"],
)
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(u.ForgedToken):
        u.verify(KEYS, token)


def test_other_secret_is_refused_and_key_id_is_bound() -> None:
    token = _issue()
    with pytest.raises(u.ForgedToken):
        u.verify(SigningKeys.single(b"t" * 32, "k1"), token)
    both = SigningKeys(current="k2", secrets={"k1": b"s" * 32, "k2": b"s" * 32})
    _kid, payload, sig = token.split(".")
    with pytest.raises(u.ForgedToken):  # same secret under another id: the id is signed too
        u.verify(both, f"k2.{payload}.{sig}")


def test_rotation_keeps_old_links_working() -> None:
    old_token = _issue()
    rotated = SigningKeys(current="k2", secrets={"k1": b"s" * 32, "k2": b"n" * 32})
    seen = u.verify(rotated, old_token)
    assert seen.key_id == "k1" and u.names_address(rotated, seen, "anna@client.ru")
    new_token = _issue(rotated)
    assert new_token.startswith("k2.")
    with pytest.raises(u.ForgedToken):
        u.verify(KEYS, new_token)


def test_only_email_and_phone() -> None:
    with pytest.raises(ValidationError):
        u.issue(KEYS, campaign_id=1, recipient_id=1, contact_id=1, kind=AddressKind.TELEGRAM, address="x")
    with pytest.raises(ValidationError):
        u.issue(KEYS, campaign_id=0, recipient_id=1, contact_id=1, kind=AddressKind.EMAIL, address="x")


def test_headers_follow_rfc_8058() -> None:
    headers = u.list_unsubscribe_headers("https://hub.acme.ru/u/abc", mailto="unsub@acme.ru")
    assert headers == {
        "List-Unsubscribe": "<https://hub.acme.ru/u/abc>, <mailto:unsub@acme.ru?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert u.list_unsubscribe_headers("https://h/u/x") == {
        "List-Unsubscribe": "<https://h/u/x>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@pytest.mark.parametrize(
    ("url", "mailto"),
    [
        ("ftp://h/u/x", None),
        ("https://h/u/x>, <https://evil", None),
        ("https://h/u/x\r\nBcc: a@b", None),
        ("https://h/u/x", "a@b>, <https://evil"),
        ("https://h/u/x", "no-at-sign"),
    ],
)
def test_headers_refuse_injection(url: str, mailto: str | None) -> None:
    with pytest.raises(ValidationError):
        u.list_unsubscribe_headers(url, mailto=mailto)


def test_url_needs_public_url() -> None:
    assert u.unsubscribe_url("https://hub.acme.ru/", "T") == "https://hub.acme.ru/u/T"
    with pytest.raises(ConfigError):
        u.unsubscribe_url(None, "T")
