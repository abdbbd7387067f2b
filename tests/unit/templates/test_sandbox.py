"""Template injection and runaway templates fail fast with a clear TemplateError."""

from __future__ import annotations

import time

import pytest

from hub.errors import TemplateError
from hub.templates import (
    CampaignVariables,
    CompanyVariables,
    ContactVariables,
    SmsTemplate,
    TemplateVariables,
    render,
)
from hub.templates.rendering import check_part
from hub.templates.sandbox import MAX_OUTPUT_CHARS, MAX_RANGE, MAX_STEPS, MAX_VALUE_CHARS
from hub.templates.template import Part

RECIPIENT = TemplateVariables(
    contact=ContactVariables(name="Кузнецова Мария", city="Казань", custom={"код": "42"}),
    company=CompanyVariables(name="АО «Вектор»"),
    campaign=CampaignVariables(name="Осень"),
)
#: Every refusal below must come well before this (the budget's own limit is 1 s).
FAST_S = 1.5
_S = "{% set s = 'ж' * 100000 %}"

ATTACKS = [
    # (template text, words of the error)
    ("{{ ''.__class__.__mro__ }}", "internals"),
    ("{{ contact.name.__class__ }}", "internals"),
    ("{{ contact['__class__'] }}", "internals"),
    ("{{ cycler.__init__.__globals__ }}", "unknown variable 'cycler'"),
    ("{{ lipsum(n=10**9) }}", "unknown variable 'lipsum'"),
    ("{{ self }}", "unknown variable 'self'"),
    ("{{ range.__self__ }}", "internals"),
    ("{{ contact.name|attr('__class__') }}", "No filter named 'attr'"),
    ("{{ (contact.name.upper).__self__ }}", "internals"),
    ("{{ contact.name.upper['__self__'] }}", "internals"),
    ("{% for i in range(10**9) %}x{% endfor %}", f"at most {MAX_RANGE}"),
    ("{{ range(10**9)|length }}", f"at most {MAX_RANGE}"),
    ("{{ 'x' * 10**9 }}", f"longer than {MAX_VALUE_CHARS}"),
    ("{{ 10**9 * 'x' }}", f"longer than {MAX_VALUE_CHARS}"),
    ("{{ ['x'] * 10**9 }}", f"longer than {MAX_VALUE_CHARS}"),
    ("{{ 2 ** 1000 }}", "exponents above"),
    ("{{ (10 ** 99) ** 99 }}", "too large"),
    ("{{ '%999999999s' % 1 }}", "string formatting"),
    ("{{ '{:>999999999}'.format(1) }}", "str.format() is not allowed"),
    ("{{ contact.name.center(999999999) }}", "str.center() is not allowed"),
    ("{{ contact.name.ljust(999999999) }}", "str.ljust() is not allowed"),
    ("{{ contact.name|center(999999999) }}", "No filter named 'center'"),
    ("{{ contact.name|indent(999999999) }}", "No filter named 'indent'"),
    ("{{ contact.name|wordwrap(1) }}", "No filter named 'wordwrap'"),
    (_S + "{{ s|replace('ж', s) }}", f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{{ s.replace('ж', 'жж' * 10) }}", f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{{ range(10000)|map('string')|join(s) }}", f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{{ ([s] * 10)|tojson }}", f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{{ [s] * 11 }}", f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{{ [s, s, s, s, s, s, s, s, s, s, s] }}", f"longer than {MAX_OUTPUT_CHARS}"),
    (_S + "{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{% set s = s ~ s %}{{ s }}",
     f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{% set s = s + s %}{% set s = s + s %}{% set s = s + s %}{% set s = s + s %}{{ s }}",
     f"longer than {MAX_VALUE_CHARS}"),
    (_S + "{% for i in range(100) %}{{ s }}{% endfor %}", f"longer than {MAX_OUTPUT_CHARS}"),
    ("{% for i in range(10000) %}" + "ж" * 200 + "{% endfor %}", f"longer than {MAX_OUTPUT_CHARS}"),
    (_S + "{% macro twice(t) %}{{ t }}{{ t }}{% endmacro %}"
     "{{ twice(twice(twice(twice(s)))) }}", f"longer than {MAX_OUTPUT_CHARS}"),
    (_S + "{% macro m() %}{% for i in range(100) %}{{ s }}{% endfor %}{% endmacro %}{% set x = m() %}",
     f"longer than {MAX_OUTPUT_CHARS}"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
     f"more than {MAX_STEPS} steps"),
    ("{% for c in contact.name %}{% for i in range(10000) %}{% for j in range(10000) %}"
     "{% endfor %}{% endfor %}{% endfor %}", f"more than {MAX_STEPS} steps"),
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "too deeply"),
    ("{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}", "too deeply"),
    ("{% macro f() %}{{ g() }}{% endmacro %}{% macro g() %}{{ f() }}{% endmacro %}{{ f() }}",
     "too deeply"),
    ("{% for x in range(10000)|map('string') %}{% for y in range(10000) %}{% endfor %}{% endfor %}",
     f"more than {MAX_STEPS} steps"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "words"), ATTACKS)
def test_attack_fails_fast_with_a_template_error(source: str, words: str) -> None:
    started = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render(SmsTemplate(text="Уважаемый клиент!\n" + source), RECIPIENT)
    elapsed = time.monotonic() - started
    assert words in str(caught.value)
    assert caught.value.part == Part.TEXT
    assert caught.value.line == 2
    assert elapsed < FAST_S


def test_within_the_limits_templates_still_work() -> None:
    source = (
        "{% for i in range(1000) %}{{ loop.cycle('а', 'б') }}{% endfor %}|"
        "{{ ('ж' * 1000)|length }}|{{ 2 ** 100 }}|{{ contact.custom.код|int + 1 }}"
    )
    text = render(SmsTemplate(text=source), RECIPIENT).text
    assert text == "аб" * 500 + "|1000|" + str(2**100) + "|43"


def test_output_just_under_the_cap_is_kept_and_one_more_character_is_refused() -> None:
    exact = "{{ 'я' * " + str(MAX_OUTPUT_CHARS) + " }}"
    assert len(render(SmsTemplate(text=exact), RECIPIENT).text) == MAX_OUTPUT_CHARS
    with pytest.raises(TemplateError, match="longer than"):
        render(SmsTemplate(text=exact + "!"), RECIPIENT)


@pytest.mark.parametrize(
    "source",
    [
        "{{ contact.name.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.nmae }}",
    ],
)
def test_attacks_are_refused_at_save_time_already(source: str) -> None:
    assert check_part(Part.TEXT, source)
