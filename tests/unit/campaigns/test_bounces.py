"""Reading bounces (sans-IO): each mail system's form, classification, matching."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from hub.activity.repos import BounceKind, BounceOrigin
from hub.campaigns import verp
from hub.campaigns.bounces import BounceMatcher, bounces_at_send, classify
from hub.campaigns.signing import SigningKeys
from hub.channels.email.dsn import parse_bounce
from hub.model import (
    LETTER_REFUSED,
    Address,
    AddressKind,
    FailedRecipient,
    RecipientResult,
    SendOutcome,
    SendResult,
)
from tests.helpers import dsn_samples as samples

KEYS = SigningKeys.single(b"v" * 32)
BASE = "bounces@acme.ru"
FAILED = "Anna.Petrova@client.ru"
AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PATH = verp.return_path(KEYS, BASE, 12, 345, FAILED.casefold())
MID = verp.message_id(KEYS, 12, 345, FAILED.casefold(), "acme.ru")

HARD: dict[str, Callable[[str, str, str], bytes]] = {
    "postfix": samples.postfix,
    "exim": samples.exim,
    "exim_plain": samples.exim_plain,
    "qmail": samples.qmail,
    "gmail": samples.gmail,
}


@pytest.mark.parametrize("name", sorted(HARD))
async def test_hard_bounces_of_every_form(name: str) -> None:
    bounce = parse_bounce(HARD[name](FAILED, PATH, MID))
    assert bounce is not None
    assert bounce.original_message_id == MID.strip("<>")  # as the store keys letters
    assert [r.address.casefold() for r in bounce.recipients] == [FAILED.casefold()]
    failure = bounce.recipients[0]
    assert classify(failure, bounce.permanent_hint) is BounceKind.HARD
    assert failure.status is None or failure.status.startswith("5.")
    assert failure.smtp_code in (550, None)
    events = await BounceMatcher(KEYS, BASE).events(bounce, at=AT)
    assert [(e.campaign_id, e.recipient_id, e.address, e.kind) for e in events] == [
        (12, 345, FAILED.casefold(), BounceKind.HARD)
    ]
    assert events[0].origin is BounceOrigin.DSN


def test_forms_are_told_apart() -> None:
    assert parse_bounce(samples.postfix(FAILED, PATH, MID)).form == "rfc3464"  # type: ignore[union-attr]
    assert parse_bounce(samples.qmail(FAILED, PATH, MID)).form == "text"  # type: ignore[union-attr]
    gmail = parse_bounce(samples.gmail(FAILED, PATH, MID))
    assert gmail is not None and gmail.recipients[0].status == "5.1.1"
    assert gmail.recipients[0].diagnostic is not None
    assert "does not exist" in gmail.recipients[0].diagnostic


async def test_delayed_is_soft() -> None:
    bounce = parse_bounce(samples.postfix_delayed(FAILED, PATH, MID))
    assert bounce is not None
    events = await BounceMatcher(KEYS, BASE).events(bounce, at=AT)
    assert [(e.kind, e.status) for e in events] == [(BounceKind.SOFT, "4.4.1")]


async def test_found_by_message_id_without_verp() -> None:
    bounce = parse_bounce(samples.headers_only(FAILED, MID))
    assert bounce is not None
    events = await BounceMatcher(KEYS, BASE).events(bounce, at=AT)
    assert [(e.campaign_id, e.recipient_id) for e in events] == [(12, 345)]


async def test_engine_lookup_of_other_message_ids() -> None:
    other_id = "<plain-123@acme.ru>"
    tag = verp.parse_message_id(MID)
    assert tag is not None

    async def lookup(message_id: str) -> verp.VerpTag | None:
        return tag if message_id == other_id.strip("<>") else None

    bounce = parse_bounce(samples.headers_only(FAILED, other_id))
    assert bounce is not None
    assert await BounceMatcher(KEYS, BASE).events(bounce, at=AT) == []
    events = await BounceMatcher(KEYS, BASE, lookup).events(bounce, at=AT)
    assert [(e.campaign_id, e.recipient_id) for e in events] == [(12, 345)]


async def test_forged_dsn_cannot_suppress_another_address() -> None:
    # a DSN built on the return path of a letter to anna, naming someone else
    bounce = parse_bounce(samples.postfix("victim@client.ru", PATH, MID))
    assert bounce is not None
    assert await BounceMatcher(KEYS, BASE).events(bounce, at=AT) == []
    # a return path with a made-up signature
    forged_path = PATH.rsplit("-", 1)[0] + "-aaaaaaaa@acme.ru"
    bounce = parse_bounce(samples.postfix(FAILED, forged_path, "<x@y>"))
    assert bounce is not None
    assert await BounceMatcher(KEYS, BASE).events(bounce, at=AT) == []
    # signed with a key we do not have
    assert await BounceMatcher(SigningKeys.single(b"w" * 32), BASE).events(
        parse_bounce(samples.postfix(FAILED, PATH, MID)),  # type: ignore[arg-type]
        at=AT,
    ) == []


def test_replies_are_not_bounces() -> None:
    assert parse_bounce(samples.not_a_bounce(PATH)) is None


def test_same_dsn_has_the_same_key() -> None:
    one = parse_bounce(samples.exim(FAILED, PATH, MID))
    two = parse_bounce(samples.exim(FAILED, PATH, MID))
    assert one is not None and two is not None and one.key == two.key


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (FailedRecipient(address="a@b", status="5.2.2"), BounceKind.HARD),
        (FailedRecipient(address="a@b", status="4.2.2"), BounceKind.SOFT),
        (FailedRecipient(address="a@b", action="failed", status="4.4.7"), BounceKind.SOFT),
        (FailedRecipient(address="a@b", smtp_code=552), BounceKind.HARD),
        (FailedRecipient(address="a@b", smtp_code=451), BounceKind.SOFT),
        (FailedRecipient(address="a@b", action="delayed"), BounceKind.SOFT),
        (FailedRecipient(address="a@b", action="failed"), BounceKind.HARD),
        (FailedRecipient(address="a@b", action="delivered", status="2.0.0"), None),
        (FailedRecipient(address="a@b", action="relayed"), None),
    ],
)
def test_classify(failure: FailedRecipient, kind: BounceKind | None) -> None:
    assert classify(failure) is kind


def test_refusals_at_send_time() -> None:
    def rcpt(value: str, outcome: SendOutcome, code: int | None, reason: str | None) -> RecipientResult:
        return RecipientResult(
            address=Address(kind=AddressKind.EMAIL, value=value), outcome=outcome, code=code, reason=reason
        )

    result = SendResult(
        outcome=SendOutcome.PERMANENT_FAILURE,
        external_id="<m1@acme.ru>",
        recipients=(
            rcpt("Gone@Client.ru", SendOutcome.PERMANENT_FAILURE, 550, "5.1.1 no such user"),
            rcpt("later@client.ru", SendOutcome.TEMPORARY_FAILURE, 451, "try later"),
            rcpt("fine@client.ru", SendOutcome.SENT, 250, None),
            rcpt("x@client.ru", SendOutcome.PERMANENT_FAILURE, 554, LETTER_REFUSED + "spam"),
        ),
    )
    events = bounces_at_send(result, campaign_id=1, recipient_id=2)
    assert [(e.address, e.kind, e.smtp_code, e.status, e.origin) for e in events] == [
        ("gone@client.ru", BounceKind.HARD, 550, "5.1.1", BounceOrigin.SEND)
    ]
    assert events[0].event_key == bounces_at_send(result, campaign_id=1, recipient_id=2)[0].event_key
