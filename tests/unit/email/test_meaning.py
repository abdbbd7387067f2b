"""What a letter means: direction, employee, counterparts, flags, bounces, VERP."""

from __future__ import annotations

import pytest

from hub.channels.email.letter_builder import build_letter, letter_of
from hub.channels.email.letter_parser import parse_message
from hub.channels.email.meaning import Mailbox, interpret, verp_address, verp_message_id
from hub.channels.email.server_url import Security, ServerUrl, mask
from hub.errors import ConfigError
from hub.model import (
    Address,
    AddressKind,
    Channel,
    Direction,
    Flag,
    OutgoingMessage,
    StatusUpdate,
    Touch,
    utcnow,
)
from tests.helpers import mail_samples as S

MAILBOX = Mailbox.of("ivan", [S.IVAN], ["acme.ru"], ["bounces@acme.ru"])


@pytest.mark.parametrize(
    ("raw", "direction", "employee", "counterparts"),
    [
        (S.simple(), Direction.IN, S.IVAN, [S.CLIENT]),
        (S.outgoing(), Direction.OUT, S.IVAN, [S.CLIENT]),
        (S.outgoing(to=S.PETR), Direction.INTERNAL, S.IVAN, []),
        (S.outgoing(to=S.PETR, cc=S.CLIENT), Direction.OUT, S.IVAN, [S.CLIENT]),
        (
            S.simple(to=f"{S.PETR}, {S.IVAN}", cc=S.CLIENT2),
            Direction.IN,
            S.PETR,
            [S.CLIENT, S.CLIENT2],
        ),
        (
            S.simple(to="someone@else.example"),
            Direction.IN,
            S.IVAN,
            [S.CLIENT, "someone@else.example"],
        ),  # we were Bcc
        (S.simple(sender="Ivan@ACME.ru"), Direction.INTERNAL, "Ivan@ACME.ru", []),
    ],
)
def test_direction_employee_counterparts(
    raw: bytes, direction: Direction, employee: str, counterparts: list[str]
) -> None:
    [touch] = interpret(parse_message(raw), MAILBOX)
    assert isinstance(touch, Touch)
    assert touch.direction is direction
    assert touch.employee is not None and touch.employee.value == employee
    assert [c.value for c in touch.counterparts] == counterparts
    assert touch.key == ("email", parse_message(raw).message_id)


def test_bounce_gives_a_status_update_for_the_original() -> None:
    touch, update = interpret(parse_message(S.dsn()), MAILBOX)
    assert isinstance(touch, Touch) and Flag.DELIVERY_REPORT in touch.flags
    assert isinstance(update, StatusUpdate) and update.external_id == "out1@acme.ru"
    assert update.address is not None and update.address.value == S.CLIENT


def test_verp_round_trip() -> None:
    address = verp_address("bounces@acme.ru", "18f.abc@acme.ru")
    assert address == "bounces+18f.abc=acme.ru@acme.ru"
    assert verp_message_id(address, frozenset({"bounces@acme.ru"})) == "18f.abc@acme.ru"
    assert verp_message_id("someone+x=y@acme.ru", frozenset({"bounces@acme.ru"})) is None


def test_a_sent_letter_and_its_sent_folder_copy_are_the_same_touch() -> None:
    message = OutgoingMessage(
        channel=Channel.EMAIL,
        to=(Address(kind=AddressKind.EMAIL, value=S.CLIENT, name="Клиент Иванов"),),
        subject="Счёт №5 на оплату",
        body="Добрый день!\nСчёт во вложении.",
        headers={"In-Reply-To": "<q@example.com>"},
    )
    sender = Address(kind=AddressKind.EMAIL, value=S.IVAN, name="Иван")
    date = utcnow().replace(microsecond=0)
    raw = build_letter(message, sender=sender, message_id="1.a@acme.ru", date=date)
    built = letter_of(message, sender=sender, message_id="1.a@acme.ru", date=date, size=len(raw))
    parsed = parse_message(raw)
    [from_built] = interpret(built, MAILBOX)
    [from_bytes] = interpret(parsed, MAILBOX)
    assert isinstance(from_built, Touch) and isinstance(from_bytes, Touch)
    for field in (
        "key",
        "direction",
        "employee",
        "counterparts",
        "subject",
        "preview",
        "thread_key",
        "occurred_at",
        "flags",
    ):
        assert getattr(from_built, field) == getattr(from_bytes, field), field


@pytest.mark.parametrize(
    ("url", "security", "port", "user"),
    [
        ("imap://ivan@mail.acme.ru", Security.PLAIN, 143, "ivan"),
        (
            "imap+starttls://ivan%40acme.ru@mail.acme.ru:1143",
            Security.STARTTLS,
            1143,
            "ivan@acme.ru",
        ),
        ("imaps://ivan@mail.acme.ru", Security.TLS, 993, "ivan"),
    ],
)
def test_server_urls(url: str, security: Security, port: int, user: str) -> None:
    parsed = ServerUrl.parse(url, protocol="imap")
    assert (parsed.security, parsed.port, parsed.user) == (security, port, user)


@pytest.mark.parametrize(
    "url", ["smtp://ivan@mail", "imap://mail.acme.ru", "imap://ivan:secret@mail", "http://x@y"]
)
def test_bad_server_urls_never_echo_a_password(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerUrl.parse(url, protocol="imap", where="email.accounts.ivan.imap")
    assert "secret" not in str(info.value)
    assert mask("imap://ivan:secret@mail") == "imap://ivan:***@mail"
