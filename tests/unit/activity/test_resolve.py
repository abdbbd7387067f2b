"""Identity resolution, first step: one touch's addresses normalised into lookup keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.activity.resolve import normalise_touch
from hub.model import Address, AddressKind


def phone(value: str, name: str | None = None) -> Address:
    return Address(kind=AddressKind.PHONE, value=value, name=name)


def email(value: str, name: str | None = None) -> Address:
    return Address(kind=AddressKind.EMAIL, value=value, name=name)


def ext(value: str) -> Address:
    return Address(kind=AddressKind.EXTENSION, value=value)


def test_employee_and_counterparts_become_kind_and_normalised_value() -> None:
    got = normalise_touch(
        ext("101"), [phone("8 (495) 123-45-67"), email("Client@Example.COM")], "RU"
    )
    assert got.employee == ("extension", "101")
    assert got.counterparts == [("phone", "+74951234567"), ("email", "client@example.com")]
    assert got.invalid == [] and got.names == {}


def test_one_address_written_twice_is_one_counterpart_in_first_seen_order() -> None:
    got = normalise_touch(
        None,
        [phone("+7 916 111-22-33"), email("a@b.ru"), phone("89161112233"), email("A@B.RU")],
        "RU",
    )
    assert got.employee is None
    assert got.counterparts == [("phone", "+79161112233"), ("email", "a@b.ru")]


def test_display_names_are_kept_by_key_the_last_one_given_wins() -> None:
    got = normalise_touch(
        None,
        [email("anna@example.com", "Anna"), phone("+74951234567"), email("ANNA@example.com", "A. S.")],
        "RU",
    )
    assert got.names == {("email", "anna@example.com"): "A. S."}


def test_invalid_addresses_are_explained_and_the_rest_kept() -> None:
    got = normalise_touch(ext("not an extension"), [phone("<unknown>"), phone("+74951234567")], "RU")
    assert got.employee is None
    assert got.counterparts == [("phone", "+74951234567")]
    assert len(got.invalid) == 2
    assert got.invalid[0].startswith("employee 'not an extension'")
    assert "<unknown>" in got.invalid[1]


def test_the_region_decides_a_number_without_its_country() -> None:
    ru = normalise_touch(None, [phone("8 495 123 45 67")], "RU").counterparts
    assert ru == [("phone", "+74951234567")]
    foreign = normalise_touch(None, [phone("+44 20 7946 0958")], "RU").counterparts
    assert foreign == [("phone", "+442079460958")]


def test_nothing_to_normalise_gives_nothing() -> None:
    got = normalise_touch(None, [], "RU")
    assert (got.employee, got.counterparts, got.names, got.invalid) == (None, [], {}, [])


_digits = st.text("0123456789", min_size=7, max_size=7)
_separators = st.sampled_from(["", " ", "-"])


@st.composite
def russian_number_written_some_way(draw: st.DrawFn) -> tuple[str, str]:
    """(canonical +7 number, the same number as a person might type it)."""
    code = draw(st.sampled_from(["495", "499", "812", "916", "903"]))
    rest = draw(_digits)
    prefix = draw(st.sampled_from(["+7", "8", "7", "+7 "]))
    sep = draw(_separators)
    area = f" ({code}) " if draw(st.booleans()) else f"{sep}{code}{sep}"
    typed = f"{prefix}{area}{rest[:3]}{sep}{rest[3:5]}{sep}{rest[5:]}"
    return f"+7{code}{rest}", typed


@given(st.lists(russian_number_written_some_way(), min_size=1, max_size=8))
def test_counterparts_are_the_distinct_numbers_whatever_the_writing(
    numbers: list[tuple[str, str]],
) -> None:
    got = normalise_touch(None, [phone(typed) for _canonical, typed in numbers], "RU")
    want = list(dict.fromkeys(canonical for canonical, _typed in numbers))
    assert got.counterparts == [("phone", n) for n in want]
    assert got.invalid == []
