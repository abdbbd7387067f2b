"""The catalogue's error shapes: well formed, and the messages raised at the HTTP edge match."""

from __future__ import annotations

import re

from hub.i18n import error_message
from hub.i18n.api_errors import SHAPES, shape_of
from hub.i18n.catalogue import entries
from hub.web.errors import INTERNAL_MESSAGE, PROTOCOL_ERROR_MESSAGES

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_every_shape_fills_only_what_its_english_names() -> None:
    shapes = {k: v for k, v in entries().items() if k.startswith(SHAPES)}
    assert len(shapes) > 100
    english = [str(v["en"]) for v in shapes.values()]
    assert len(english) == len(set(english)), "two shapes of one message"
    for key, texts in shapes.items():
        assert isinstance(texts.get("ru"), str), key
        named = set(PLACEHOLDER.findall(str(texts["en"])))
        assert set(PLACEHOLDER.findall(str(texts["ru"]))) <= named, key
        # each shape matches its own English text, filled with sample values
        sample = PLACEHOLDER.sub(lambda m: f"<{m.group(1)}>", str(texts["en"]))
        assert shape_of(sample) is not None, key


def test_messages_of_the_http_edge_are_translated() -> None:
    for code, message in [*PROTOCOL_ERROR_MESSAGES.values(), ("internal", INTERNAL_MESSAGE)]:
        russian = error_message("ru", code, message)
        assert russian != message and re.search("[а-я]", russian), message
        assert error_message("en", code, message) == message


def test_unknown_messages_say_their_kind_and_field_never_english() -> None:
    said = error_message("ru", "invalid", "frobnicator exploded", "phones.0")
    assert said == "Данные не приняты (поле: phones.0)"
    assert error_message("ru", "teapot", "short and stout") == "Запрос отклонён"
    nested = error_message("ru", "conflict", "phones.1: phone +74951234567 already belongs to contact #3")
    assert nested == "phones.1: телефон +74951234567 уже принадлежит контакту №3"
    channel = error_message("ru", "upstream_error", "PBX main is not connected (channel=ami)")
    assert channel == "АТС main не подключена"
