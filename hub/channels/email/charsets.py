"""Turning the bytes of Russian mail into text: declared charsets, mislabelled ones, none at all.

Single-byte Cyrillic charsets (koi8-r, cp1251, cp866, iso-8859-5) decode any byte
sequence without error, so a wrong label cannot be caught by a decode failure; the
candidates are compared by how much their output looks like Russian text instead.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes


def _codec(label: str) -> str:
    return codecs.lookup(label).name.replace("-", "_")


#: Single-byte Cyrillic charsets tried against each other when a label may be wrong.
CYRILLIC_CHARSETS: tuple[str, ...] = tuple(
    _codec(c) for c in ("cp1251", "koi8-r", "cp866", "iso-8859-5")
)
#: Western charsets often (wrongly) declared on cp1251 mail by old clients.
WESTERN_CHARSETS: frozenset[str] = frozenset(
    _codec(c) for c in ("latin-1", "cp1252", "iso-8859-15", "ascii")
)
#: Below this many bytes statistical detection guesses wildly; Western is the safer bet.
MIN_DETECT_BYTES = 200
#: Labels that mean "no idea".
UNKNOWN_LABELS: frozenset[str] = frozenset(
    {"unknown-8bit", "x-unknown", "unknown", "default", "charset", "x-user-defined", "8bit"}
)
#: Extra spellings seen in the wild that Python's codec registry does not know.
ALIASES: dict[str, str] = {
    "win-1251": "cp1251",
    "windows-1251r": "cp1251",
    "cp-1251": "cp1251",
    "x-cp1251": "cp1251",
    "win1251": "cp1251",
    "koi8": "koi8_r",
    "x-koi8-r": "koi8_r",
    "koi-8r": "koi8_r",
    "utf8": "utf_8",
    "x-mac-cyrillic": "mac_cyrillic",
}
#: How much better another Cyrillic charset must score to override the declared one.
RELABEL_MARGIN = 0.2
#: Minimum Russian-likeness for a guessed Cyrillic charset to be believed.
MIN_CYRILLIC_SCORE = 0.55
#: Below this many non-ASCII characters there is too little evidence to relabel Western text.
MIN_EVIDENCE_CHARS = 4
#: The most frequent lowercase Russian letters (about half of all letters in running text).
FREQUENT_LOWER = frozenset("оеаинтсрвл")
_LOWER_CYRILLIC = re.compile("[а-яё]")


def codec_name(label: str | None) -> str | None:
    """Return Python's codec name for a MIME charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if "*" in label:  # RFC 2231 language suffix: utf-8*ru
        label = label.split("*", 1)[0]
    if not label or label in UNKNOWN_LABELS:
        return None
    label = ALIASES.get(label, label)
    try:
        return _codec(label)
    except LookupError:
        return None


def russian_score(text: str) -> float:
    """How much `text`'s non-ASCII characters look like Russian lowercase running text (0..1)."""
    high = [c for c in text if ord(c) > 127]
    if not high:
        return 0.0
    lower = sum(1 for c in high if _LOWER_CYRILLIC.match(c))
    frequent = sum(1 for c in high if c in FREQUENT_LOWER)
    return (lower + frequent * 1.5) / (2.5 * len(high))


def _strict(data: bytes, codec: str, truncated: bool) -> str | None:
    """Decode strictly; a truncated utf-8 tail (cut mid-character) is dropped, not blamed."""
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        if truncated and codec == "utf_8":
            for cut in (1, 2, 3):
                try:
                    return data[:-cut].decode(codec)
                except UnicodeDecodeError:
                    continue
        return None
    except LookupError:
        return None


def _best_cyrillic(data: bytes) -> tuple[str, float]:
    """The Cyrillic single-byte decoding that reads most like Russian, with its score."""
    best, best_score = "", -1.0
    for codec in CYRILLIC_CHARSETS:
        text = data.decode(codec, errors="replace")
        score = russian_score(text)
        if score > best_score:
            best, best_score = text, score
    return best, best_score


def decode_text(data: bytes, declared: str | None, *, truncated: bool = False) -> str:
    """Decode `data` labelled `declared`, falling back by detection when the label lies."""
    if not data:
        return ""
    if data.isascii():
        return data.decode("ascii")
    codec = codec_name(declared)
    if codec in CYRILLIC_CHARSETS:
        text = data.decode(codec, errors="replace")
        guess, guess_score = _best_cyrillic(data)
        if guess_score > russian_score(text) + RELABEL_MARGIN:
            return guess
        return text
    if codec is not None and codec not in WESTERN_CHARSETS:
        text_or_none = _strict(data, codec, truncated)
        if text_or_none is not None:
            return text_or_none
    if codec in WESTERN_CHARSETS:
        text = data.decode("cp1252" if codec == _codec("ascii") else codec, errors="replace")
        guess, guess_score = _best_cyrillic(data)
        high = sum(1 for b in data if b > 127)
        letters = sum(1 for b in data if b > 127 or chr(b).isalpha())
        if (
            high >= MIN_EVIDENCE_CHARS
            and guess_score >= MIN_CYRILLIC_SCORE
            and high * 3 > letters  # Russian text is mostly non-ASCII letters; French is not
        ):
            return guess
        return text
    return _detect(data, truncated)


def _detect(data: bytes, truncated: bool) -> str:
    """No usable label: valid utf-8, else a Cyrillic charset that reads as Russian, else a guess."""
    text = _strict(data, "utf_8", truncated)
    if text is not None:
        return text
    guess, score = _best_cyrillic(data)
    if score >= MIN_CYRILLIC_SCORE:
        return guess
    if len(data) >= MIN_DETECT_BYTES:
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    return data.decode("cp1252", errors="replace")
