"""Signed contact tokens for /start deep links."""

from __future__ import annotations

import re

import pytest

from hub.channels.messengers.link_token import (
    MAX_START_PARAMETER,
    contact_token,
    deep_link,
    verify_contact_token,
)

SECRET = b"a-secret-of-the-hub-0123"


@pytest.mark.parametrize("contact_id", [1, 42, 10**18])
def test_a_token_names_its_contact_and_fits_telegram(contact_id: int) -> None:
    token = contact_token(SECRET, contact_id)
    assert len(token) <= MAX_START_PARAMETER and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert verify_contact_token(SECRET, token) == contact_id


def test_tokens_are_refused_when_not_ours() -> None:
    token = contact_token(SECRET, 42)
    assert verify_contact_token(b"another-secret-0000000", token) is None
    assert verify_contact_token(SECRET, token.replace("c42_", "c43_")) is None
    assert verify_contact_token(SECRET, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert verify_contact_token(SECRET, "hello") is None
    with pytest.raises(ValueError):
        contact_token(SECRET, 0)


def test_deep_link() -> None:
    assert deep_link("@acme_bot", "c1_x") == "https://t.me/acme_bot?start=c1_x"
