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


def test_split_multi_cell() -> None:
    assert split_multi("+7 495 1234567; 8 916 1112233, ") == ["+7 495 1234567", "8 916 1112233"]
