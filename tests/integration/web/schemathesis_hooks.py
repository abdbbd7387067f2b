"""Formats of touchhub's OpenAPI document that schemathesis does not know by itself.

`format: phone` means "a number the phone library accepts, in any usual spelling";
schemathesis is given real numbers of many countries in E.164, international and
national spellings, so a schema-valid phone is one the server must take.
"""

from __future__ import annotations

import phonenumbers
import schemathesis
from hypothesis import strategies as st

_REGIONS = ("RU", "KZ", "BY", "DE", "US", "GB", "FR", "CN", "TR", "UZ")
_FORMATS = (
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
)


def _spellings() -> list[str]:
    numbers: list[str] = []
    for region in _REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            numbers += [phonenumbers.format_number(example, f) for f in _FORMATS]
    # How people in Russia write numbers down.
    numbers += ["8 (495) 123-45-67", "8-916-555-12-34", "+7 916 555 12 34", "79165551234"]
    return numbers


schemathesis.openapi.format("phone", st.sampled_from(_spellings()))
