"""Normalising addresses once, in the store: phones to E.164, e-mails case-folded.

Adapters report what they saw on the wire (``8 (495) 123-45-67``, ``Ivan@Acme.RU``);
every lookup and every identity row uses the normalised form made here.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from functools import lru_cache

import phonenumbers

from hub.errors import InvalidAddress
from hub.model import AddressKind

#: A Telegram or VK user name or numeric id: ASCII, as both platforms allow.
MESSENGER_ID_PATTERN = "^@?[A-Za-z0-9_.+-]{1,64}$"
_MESSENGER_ID = re.compile(MESSENGER_ID_PATTERN)
#: A Viber bot's user id: an opaque token (``01234567890A=``) whose case matters.
_VIBER_ID = re.compile(r"[A-Za-z0-9+/=_-]{4,64}")
#: A Viber address typed as a phone number (contacts imported with their Viber phone).
_PHONE_TEXT = re.compile(r"[0-9+()\s.-]+")
#: What a desk phone's keypad can dial: ASCII digits, `*` and `#` (the default internal
#: pattern is digits only; a letter or a superscript digit never rings anyone).
EXTENSION_PATTERN = "^[0-9*#]{1,32}$"
_EXTENSION = re.compile(EXTENSION_PATTERN)
#: Numbers shorter than this are internal extensions, never a client's phone.
MIN_PHONE_DIGITS = 5
#: Already E.164 for Russia/Kazakhstan: phonenumbers returns these unchanged (checked for
#: every three-digit prefix in the tests), at a fiftieth of the cost of parsing them.
_RU_E164 = re.compile(r"\+7[0-9]{10}")
#: A bare dot-atom address: `parseaddr` returns it as it is, so only case-folding is left.
_SIMPLE_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)


@lru_cache(maxsize=65536)
def normalize_phone(raw: str, region: str = "RU") -> str:
    """Return `raw` in E.164 (``+74951234567``) or raise `InvalidAddress`.

    Russian habits are understood: a leading ``8`` is the trunk prefix, ``7…`` with
    eleven digits is already international.
    """
    text = raw.strip()
    if _RU_E164.fullmatch(text):
        return text
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        raise InvalidAddress(f"{raw!r} is too short to be a phone number", field="phone")
    candidate = text
    if not text.startswith("+"):
        if text.startswith("00"):
            candidate = "+" + digits[2:]
        elif region == "RU" and len(digits) == 11 and digits[0] == "7":
            candidate = "+" + digits
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"{raw!r} is not a phone number: {exc}", field="phone") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress(f"{raw!r} is not a possible phone number", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=65536)
def normalize_email(raw: str) -> str:
    """Return the bare address of `raw`, case-folded, or raise `InvalidAddress`."""
    simple = raw.strip()
    if _SIMPLE_EMAIL.fullmatch(simple):
        return simple.lower()
    _, address = parseaddr(raw.strip())
    address = address.strip().strip("<>").casefold()
    local, sep, domain = address.rpartition("@")
    if not sep or not local or "." not in domain or " " in address:
        raise InvalidAddress(f"{raw!r} is not an e-mail address", field="email")
    return address


@lru_cache(maxsize=131072)
def normalize(kind: AddressKind, raw: str, region: str = "RU") -> str:
    """Normalise an address of any kind; raise `InvalidAddress` when it can't be."""
    if kind is AddressKind.VIBER and not _PHONE_TEXT.fullmatch(raw.strip()):
        # The bot API names a user by an opaque id, kept as it is (decision 0058).
        if not _VIBER_ID.fullmatch(raw.strip()):
            raise InvalidAddress(f"{raw!r} is not a viber id", field="viber")
        return raw.strip()
    if kind is AddressKind.PHONE or kind is AddressKind.WHATSAPP or kind is AddressKind.VIBER:
        # WhatsApp ids and Viber phones are phone numbers; keep them comparable to phones.
        return normalize_phone(raw, region)
    if kind is AddressKind.EMAIL:
        return normalize_email(raw)
    if kind is AddressKind.EXTENSION:
        value = raw.strip()
        if not _EXTENSION.match(value):
            raise InvalidAddress(
                f"{raw!r} is not an extension (digits, * and # only)", field="extension"
            )
        return value
    value = raw.strip().lstrip("@").casefold()
    if not _MESSENGER_ID.match(value):
        raise InvalidAddress(f"{raw!r} is not a {kind.value} id", field=kind.value)
    return value


def try_normalize(kind: AddressKind, raw: str, region: str = "RU") -> str | None:
    """Like `normalize`, but None instead of an error."""
    try:
        return normalize(kind, raw, region)
    except InvalidAddress:
        return None


def split_multi(cell: str) -> list[str]:
    """Split a cell holding several phones or e-mails separated by ``;`` or ``,``."""
    return [part.strip() for part in re.split(r"[;,]", cell) if part.strip()]
