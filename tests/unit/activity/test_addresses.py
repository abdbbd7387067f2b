"""Normalisation of phones, e-mails and messenger ids."""

from __future__ import annotations

import pytest

from hub.activity.addresses import normalize, normalize_email, normalize_phone, split_multi
from hub.errors import InvalidAddress
from hub.model import AddressKind


@pytest.mark.parametrize(
    "raw",
    [
        "8 (495) 123-45-67",
        "+7 495 1234567",
        "74951234567",
        "84951234567",
        "+7(495)123-45-67",
        "007 495 123 45 67",
    ],
)
def test_russian_numbers_written_every_way_are_one(raw: str) -> None:
    assert normalize_phone(raw, "RU") == "+74951234567"


def test_foreign_number_keeps_its_country() -> None:
    assert normalize_phone("+44 20 7946 0958", "RU") == "+442079460958"


def test_region_applies_to_national_numbers() -> None:
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "123", "abc", "<unknown>", "+7 495", "++++"])
def test_invalid_phones_are_refused_with_the_value(raw: str) -> None:
    with pytest.raises(InvalidAddress) as info:
        normalize_phone(raw, "RU")
    assert info.value.field == "phone"


def test_emails_are_case_folded_and_unwrapped() -> None:
    assert normalize_email("Ivan Petrov <Ivan.Petrov@Acme.RU>") == "ivan.petrov@acme.ru"


@pytest.mark.parametrize("raw", ["ivan", "ivan@", "@acme.ru", "ivan@localhost"])
def test_invalid_emails(raw: str) -> None:
    with pytest.raises(InvalidAddress):
        normalize_email(raw)


def test_messenger_ids_lose_the_at_sign_and_case() -> None:
    assert normalize(AddressKind.TELEGRAM, "@Ivan_Petrov") == "ivan_petrov"


def test_whatsapp_ids_are_phones() -> None:
    assert normalize(AddressKind.WHATSAPP, "8 916 123-45-67") == "+79161234567"


def test_viber_phones_are_phones_and_bot_ids_keep_their_case() -> None:
    assert normalize(AddressKind.VIBER, "8 916 123-45-67") == "+79161234567"
    assert normalize(AddressKind.VIBER, " pttm25kSGUo1919sBORWyA== ") == "pttm25kSGUo1919sBORWyA=="
    with pytest.raises(InvalidAddress):
        normalize(AddressKind.VIBER, "not an id!")


def test_split_multi_cell() -> None:
    assert split_multi("+7 495 1234567; 8 916 1112233, ") == ["+7 495 1234567", "8 916 1112233"]


def _parsed_phone(text: str) -> str:
    """What phonenumbers itself makes of a number (the fast path bypasses it)."""
    import phonenumbers

    number = phonenumbers.parse(text, "RU")
    assert phonenumbers.is_possible_number(number)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def test_e164_russian_fast_path_agrees_with_phonenumbers() -> None:
    import random

    rnd = random.Random(11)
    for prefix in range(1000):
        text = f"+7{prefix:03d}{rnd.randrange(10**7):07d}"
        assert normalize_phone(text, "RU") == _parsed_phone(text) == text
    assert normalize_phone(" +79161234567 ", "GB") == "+79161234567"
    # not the fast path: other digits, other lengths
    assert normalize_phone("+7 916 123-45-67", "RU") == "+79161234567"
    with pytest.raises(InvalidAddress):
        normalize_phone("+7916123456", "RU")


@pytest.mark.parametrize(
    "raw",
    ["Ivan.Petrov@Acme.RU", " c1@ex.ru ", "a+b_c%d-e@x-y.example.com", "A@B.C"],
)
def test_simple_email_fast_path_agrees_with_parseaddr(raw: str) -> None:
    from email.utils import parseaddr

    assert normalize_email(raw) == parseaddr(raw.strip())[1].casefold()
