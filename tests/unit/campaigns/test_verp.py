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
addresses = st.emails()


@given(campaign=ids, recipient=ids, address=addresses, upper=st.booleans())
def test_round_trip(campaign: int, recipient: int, address: str, upper: bool) -> None:
    path = verp.return_path(KEYS, BASE, campaign, recipient, address)
    assert path.startswith("bounces+c") and path.endswith("@acme.ru")
    seen = path.upper() if upper else path  # some MTAs change the case
    found = verp.parse(seen, BASE)
    assert found is not None
    assert (found.campaign_id, found.recipient_id) == (campaign, recipient)
    assert verp.verify(KEYS, found, address)
    assert verp.verify(KEYS, found, address.upper())
    assert not verp.verify(KEYS, found, "x" + address)
    assert not verp.verify(OTHER, found, address)
    mid = verp.message_id(KEYS, campaign, recipient, address, "acme.ru")
    by_id = verp.parse_message_id(mid)
    assert by_id is not None and (by_id.campaign_id, by_id.recipient_id) == (campaign, recipient)
    assert verp.verify(KEYS, by_id, address)


@given(campaign=ids, recipient=ids, other=ids)
def test_changed_ids_do_not_verify(campaign: int, recipient: int, other: int) -> None:
    path = verp.return_path(KEYS, BASE, campaign, recipient, "a@b.ru")
    sig = path.split("-")[-1].split("@")[0]
    forged = verp.parse(f"bounces+c{campaign}-r{other}-{sig}@acme.ru", BASE)
    assert forged is not None
    assert verp.verify(KEYS, forged, "a@b.ru") is (other == recipient)


@pytest.mark.parametrize(
    "address",
    [
        "bounces@acme.ru",
        "bounces+c1-r2@acme.ru",
        "bounces+c01-r2-aaaaaaaa@acme.ru",
        "bounces+c1-r2-aaaaaaa1@acme.ru",
        "other+c1-r2-aaaaaaaa@acme.ru",
        "bounces+c1-r2-aaaaaaaa@evil.ru",
        "bounces+c99999999999999999999-r2-aaaaaaaa@acme.ru",
        "",
        "@",
    ],
)
def test_not_ours_is_none(address: str) -> None:
    assert verp.parse(address, BASE) is None


def test_made_up_signature_does_not_verify() -> None:
    found = verp.parse("bounces+c1-r2-aaaaaaaa@acme.ru", BASE)
    assert found is not None and not verp.verify(KEYS, found, "a@b.ru")


def test_other_base_address_is_not_ours() -> None:
    path = verp.return_path(KEYS, BASE, 1, 2, "a@b.ru")
    assert verp.parse(path, "bounce@acme.ru") is None
    assert verp.parse(path.replace("acme.ru", "acme.com"), BASE) is None


def test_retired_key_still_reads_its_bounces() -> None:
    old = SigningKeys.single(b"a" * 32, "old")
    path = verp.return_path(old, BASE, 7, 8, "a@b.ru")
    rotated = SigningKeys(current="new", secrets={"new": b"b" * 32, "old": b"a" * 32})
    found = verp.parse(path, BASE)
    assert found is not None and verp.verify(rotated, found, "a@b.ru")
    assert verp.return_path(rotated, BASE, 7, 8, "a@b.ru") != path


def test_message_id_needs_the_tag_at_the_start() -> None:
    tag = verp.tag(KEYS, 3, 4, "a@b.ru")
    assert verp.parse_message_id(f"<x{tag}@acme.ru>") is None
    assert verp.parse_message_id(f"<{tag}x@acme.ru>") is None
    found = verp.parse_message_id(f"<{tag}@acme.ru>")
    assert found is not None and verp.verify(KEYS, found, "a@b.ru")


@pytest.mark.parametrize("base", ["bounces", "a+b@acme.ru", "@acme.ru", "bounces@"])
def test_bad_base_address_is_refused(base: str) -> None:
    with pytest.raises(ValidationError):
        verp.return_path(KEYS, base, 1, 2, "a@b.ru")


def test_ids_out_of_range_are_refused() -> None:
    with pytest.raises(ValidationError):
        verp.tag(KEYS, 0, 1, "a@b.ru")
    with pytest.raises(ValidationError):
        verp.tag(KEYS, 1, 2**63, "a@b.ru")
