"""The catalogue's error shapes: well formed, and the messages raised at the HTTP edge match."""

from __future__ import annotations

import re

import pytest

from hub.campaigns import segments
from hub.errors import ValidationError
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


BAD_FILTERS = [
    {"all": [{"field": "shoe_size", "op": "eq", "value": 1}]},
    {"all": [{"field": "city", "op": "gt", "value": "Казань"}]},
    {"all": [{"field": "city", "op": "eq"}]},
    {"all": {"field": "city"}},
    {"all": [], "any": []},
    {"zz": 1},
    {"all": ["city"]},
    {"all": [{"op": "eq", "value": 1}]},
    {"all": [{"field": "city", "op": "eq", "value": 5}]},
    {"all": [{"field": "city", "op": "eq", "value": "к" * 301}]},
    {"all": [{"field": "city", "op": "in", "value": []}]},
    {"all": [{"field": "has_email", "op": "eq", "value": "yes"}]},
    {"all": [{"field": "created_at", "op": "gte", "value": "вчера"}]},
    {"all": [{"field": "created_at", "op": "gte", "value": "2026-01-01T10:00:00"}]},
    {"all": [{"field": "touched_by", "op": "eq", "value": 3}]},
    {"all": [{"field": "no_touch_days", "op": "gte", "value": "много"}]},
    {"all": [{"field": "custom.ключ-плохой", "op": "eq", "value": "x"}]},
]


def test_every_segment_filter_refusal_is_said_in_russian() -> None:
    seen = 0
    for definition in BAD_FILTERS:
        try:
            segments.parse(definition)
        except ValidationError as exc:
            seen += 1
            russian = error_message("ru", "invalid", str(exc), exc.field)
            assert not russian.startswith("Данные не приняты"), str(exc)  # a shape was found
            assert re.search("[а-я]", russian.split(": ", 1)[-1]), (str(exc), russian)
    assert seen == len(BAD_FILTERS)


def test_an_empty_value_still_fills_its_shape() -> None:
    """`kpi --period ""` came out in English in a Russian store: a shape's value may be empty."""
    said = error_message("ru", "invalid", "period '' is not one of YYYY-MM-DD, YYYY-Www, YYYY-MM, YYYY-Qn, YYYY (years 1900–2999)")
    assert said.startswith("период «» не в одном из форматов")


def test_a_missing_sms_gateway_is_said_in_russian() -> None:
    from hub.channels.sms.settings import SmsSettings

    gateway = {"kind": "kannel", "url": "kannel://u:pw@127.0.0.1:13013", "sender": "1"}
    for settings in (SmsSettings(), SmsSettings.model_validate({"gateways": {"a": gateway, "b": gateway}})):
        with pytest.raises(ValueError) as refused:
            settings.gateway_name(None)
        said = error_message("ru", "invalid", str(refused.value))
        assert re.search("[а-я]", said) and "SMS" in said, said


def test_a_company_calendar_or_catalogue_mistake_is_said_in_russian() -> None:
    from kpi.periods import WorkCalendar

    for weekends, holidays in (([5, 6], ["2026-13-01"]), ([7], [])):
        with pytest.raises(ValidationError) as refused:
            WorkCalendar.from_settings(weekends, holidays)
        said = error_message("ru", "invalid", str(refused.value))
        assert re.search("[а-я]", said) and ("праздник" in said or "выходные" in said), said


def test_an_interactions_texts_are_named_in_russian() -> None:
    """«Ошибка: the subject: пусто» was half English: the thing a text refusal names is
    translated too when the catalogue knows it, and shown as raised when it does not."""
    from hub.activity import interaction_rules

    for check, value, said in (
        (interaction_rules.subject, "  ", "тема: пусто"),
        (interaction_rules.result, "x" * 10_001, "результат взаимодействия: длиннее 10000 симв."),
    ):
        with pytest.raises(ValidationError) as refused:
            check(value)
        assert error_message("ru", "invalid", str(refused.value)) == said
    assert error_message("ru", "invalid", "the widget is empty") == "the widget: пусто"
