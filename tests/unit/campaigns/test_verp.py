"""VERP return paths: round trip, refusal of anything not signed by us, key rotation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.campaigns import verp
from hub.campaigns.signing import SigningKeys
from hub.errors import ValidationError

KEYS = SigningKeys.single(b"k" * 32)
OTHER = SigningKeys.single(b"o" * 32)
BASE = "bounces@acme.ru"
ids = st.integers(min_value=1, max_value=verp.MAX_ID)


@given(campaign=ids, recipient=ids, upper=st.booleans())
def test_round_trip(campaign: int, recipient: int, upper: bool) -> None:
    address = verp.return_path(KEYS, BASE, campaign, recipient)
    assert address.startswith("bounces+c") and address.endswith("@acme.ru")
    seen = address.upper() if upper else address  # some MTAs change the case
    assert verp.decode(KEYS, seen, BASE) == verp.VerpTag(
        campaign_id=campaign, recipient_id=recipient
    )
    mid = verp.message_id(KEYS, campaign, recipient, "acme.ru")
    assert verp.decode_message_id(KEYS, mid) == verp.VerpTag(
        campaign_id=campaign, recipient_id=recipient
    )


@given(campaign=ids, recipient=ids, other=ids)
def test_changed_ids_do_not_verify(campaign: int, recipient: int, other: int) -> None:
    address = verp.return_path(KEYS, BASE, campaign, recipient)
    sig = address.split("-")[-1].split("@")[0]
    if other != recipient:
        forged = f"bounces+c{campaign}-r{other}-{sig}@acme.ru"
        assert verp.decode(KEYS, forged, BASE) is None
    assert verp.decode(OTHER, address, BASE) is None


@pytest.mark.parametrize(
    "address",
    [
        "bounces@acme.ru",
        "bounces+c1-r2@acme.ru",
        "bounces+c01-r2-aaaaaaaa@acme.ru",
        "bounces+c1-r2-aaaaaaaa@acme.ru",
        "other+c1-r2-aaaaaaaa@acme.ru",
        "bounces+c1-r2-aaaaaaaa@evil.ru",
        "bounces+c99999999999999999999-r2-aaaaaaaa@acme.ru",
        "",
        "@",
    ],
)
def test_not_ours_is_none(address: str) -> None:
    assert verp.decode(KEYS, address, BASE) is None


def test_other_base_address_is_not_ours() -> None:
    address = verp.return_path(KEYS, BASE, 1, 2)
    assert verp.decode(KEYS, address, "bounce@acme.ru") is None
    assert verp.decode(KEYS, address.replace("acme.ru", "acme.com"), BASE) is None


def test_retired_key_still_reads_its_bounces() -> None:
    old = SigningKeys.single(b"a" * 32, "old")
    address = verp.return_path(old, BASE, 7, 8)
    rotated = SigningKeys(current="new", secrets={"new": b"b" * 32, "old": b"a" * 32})
    assert verp.decode(rotated, address, BASE) == verp.VerpTag(campaign_id=7, recipient_id=8)
    assert verp.return_path(rotated, BASE, 7, 8) != address


def test_message_id_needs_the_tag_at_the_start() -> None:
    tag = verp.tag(KEYS, 3, 4)
    assert verp.decode_message_id(KEYS, f"<x{tag}@acme.ru>") is None
    assert verp.decode_message_id(KEYS, f"<{tag}x@acme.ru>") is None
    assert verp.decode_message_id(KEYS, f"<{tag}@acme.ru>") == verp.VerpTag(
        campaign_id=3, recipient_id=4
    )


@pytest.mark.parametrize("base", ["bounces", "a+b@acme.ru", "@acme.ru", "bounces@"])
def test_bad_base_address_is_refused(base: str) -> None:
    with pytest.raises(ValidationError):
        verp.return_path(KEYS, base, 1, 2)


def test_ids_out_of_range_are_refused() -> None:
    with pytest.raises(ValidationError):
        verp.tag(KEYS, 0, 1)
    with pytest.raises(ValidationError):
        verp.tag(KEYS, 1, 2**63)
