"""A template's errors say what is wrong in Russian too: every message our template code
raises and the engine's common syntax errors have a shape; the rest keep the engine's words."""

from __future__ import annotations

import re

import pytest

from hub.errors import TemplateError
from hub.i18n import error_message, template_problem
from hub.i18n.api_errors import said_in
from hub.templates import EmailTemplate, SmsTemplate, check, render
from hub.templates.sandbox import MAX_SOURCE_CHARS
from tests.unit.templates.test_rendering import BARE, IVANOV

#: What is said on its own when the engine's words have no shape.
GENERAL = "ошибка в шаблоне"
LATIN = re.compile(r"[A-Za-z]{2,}")
#: A tag as the Russian message names it: ``{% endfor %}``, ``{% if … %}``.
TAG = re.compile(r"\{%[^%]*%\}")

#: (subject, html) with one mistake, and what the Russian message must say.
BROKEN: list[tuple[str, str, str]] = [
    # what our own checks refuse
    ("Новости", "<p>{{ contact.nmae }}</p>", "html, строка 1: поля contact.nmae нет"),
    ("Новости", "<p>{{ nmae }}</p>", "неизвестная переменная «nmae»"),
    ("Новости", "{% include 'шапка' %}", "тег {% include %} в шаблонах не разрешён"),
    ("Новости", "{% set contact = 1 %}", "«contact» — встроенное имя шаблона"),
    ("Новости", "{{ contact.name|_x }}", "нет фильтра или проверки «_x»"),
    ("Новости", "{{ contact.__class__ }}", "«__class__»: служебные поля недоступны"),
    ("Новости", "x" * (MAX_SOURCE_CHARS + 1), f"html: длиннее {MAX_SOURCE_CHARS} "),
    ("  ", "<p>x</p>", "subject: у письма должна быть тема"),
    # the engine's syntax errors
    ("Новости для {{ contact.name", "<p>x</p>", "subject, строка 1: не закрыто {{ … }}: не хватает }}"),
    ("x", "{% for c in contact.custom %}\n{{ c }}", "строка 2: не закрыт {% for … %}: не хватает {% endfor %}"),
    ("x", "{% if contact.city %}Привет", "не закрыт {% if … %}: не хватает {% endif %}"),
    ("x", "{% if contact.city %}{% endfor %}", "тег {% endfor %} неизвестен или стоит не на месте"),
    ("x", "{% for c in contact.custom %}{% if c %}{% endfor %}{% endif %}", "теги перепутаны"),
    ("x", "{% frob %}", "неизвестный или лишний тег {% frob %}"),
    ("x", "{{ contact.name }}{% endif %}", "лишний {% endif %}: перед ним нет открытого {% if … %}"),
    ("x", "{{ contact.name }", "лишнее «}»"),
    ("x", "{{ contact.name ! }}", "непонятный знак '!'"),
    ("x", "{{ contact.custom['инн }}", "непонятный знак"),
    ("x", "{{ contact.name contact.city }}", "внутри {{ … }} лишнее «contact»"),
    ("x", "{% for c contact.custom %}{% endfor %}", "здесь ожидалось «in», а стоит «contact»"),
    ("x", "{{ contact.name|truncate(10 }}", "не закрыта скобка: ожидалось «)», а стоит «}»"),
    ("x", "{{ contact.name| }}", "перед }} не хватает имени"),
    ("x", "{{ contact.name|nosuch }}", "фильтра «nosuch» нет"),
    ("x", "{{ contact.name is nosuch }}", "проверки «nosuch» нет"),
    ("x", "{{ }}", "внутри {{ }} пусто"),
    ("x", "{% if %}x{% endif %}", "в теге {% … %} не хватает выражения"),
    ("x", "{{ contact.name ~ }}", "выражение внутри {{ … }} не закончено"),
    ("x", "{# заметка", "не закрыт комментарий {# … #}"),
    ("x", "{% %}", "после {% не хватает названия тега"),
    ("x", "{% set 1 = 2 %}", "присвоить значение можно только переменной"),
]


def first_problem(subject: str, html: str) -> TemplateError:
    problems = check(EmailTemplate(subject=subject, html=html))
    assert problems, (subject, html)
    return problems[0]


@pytest.mark.parametrize(("subject", "html", "said"), BROKEN)
def test_a_broken_template_is_said_in_russian_with_its_detail(subject: str, html: str, said: str) -> None:
    problem = first_problem(subject, html)
    english = str(problem)
    russian = error_message("ru", "invalid", english, problem.field)
    assert said in russian, (english, russian)
    assert GENERAL not in russian, (english, russian)  # a shape was found
    assert said_in("ru", english) == russian
    assert error_message("en", "invalid", english, problem.field) == english
    # nothing English but tags and the names the author wrote or may write
    known = english.split("known: ")[1] if "known: " in english else ""
    written = set(LATIN.findall(subject + html + known)) | {"html", "subject", "in"}
    assert set(LATIN.findall(TAG.sub("", russian))) <= written, russian


#: An SMS text that fails for a recipient with nothing but a name, and what Russian says.
FAILING: list[tuple[str, str]] = [
    ("{{ contact.region }}", "у этого получателя не заполнено contact.region"),
    ("{{ contact.custom['инн'] }}", "у этого получателя не заполнено contact.custom.инн"),
    ("{{ employee.name }}", "у этого получателя нет ответственного сотрудника"),
    ("{{ range(100000)|list }}", "range() даёт не больше 10000 чисел"),
    ("{{ 10 ** 1000 }}", "степени больше 100 не разрешены"),
    ("{{ contact.name.center(5) }}", "вызывать str.center() нельзя"),
    ("{% set x = [] %}{{ x.append(1) }}", "не разрешено: «append» у значения типа list недоступно"),
    ("{{ contact.name.x }}", "у значения типа str нет поля «x»"),
    ("{{ contact.name[100] }}", "в значении типа str нет элемента 100"),
    ("{{ contact.custom.items()|first }}", "список пуст"),
    ("{{ '%s' % 1 }}", "форматирование строк через % не разрешено"),
]


@pytest.mark.parametrize(("source", "said"), FAILING)
def test_a_failing_render_is_said_in_russian(source: str, said: str) -> None:
    with pytest.raises(TemplateError) as raised:
        render(SmsTemplate(text=source), BARE)
    russian = said_in("ru", str(raised.value))
    assert russian.startswith(f"text, строка 1: {said}"), (str(raised.value), russian)


def test_the_engine_words_without_a_shape_are_kept_after_the_general_meaning() -> None:
    problem = first_problem("x", "{% macro m(a=1, b) %}{% endmacro %}")
    russian = error_message("ru", "invalid", str(problem), problem.field)
    assert russian == "html, строка 1: ошибка в шаблоне: non-default argument follows default argument"
    # the preview's form: the problem without its part and line
    words = "non-default argument follows default argument"
    assert template_problem("ru", words) == f"ошибка в шаблоне: {words}"
    assert template_problem("en", words) == words
    assert template_problem("ru", "No filter named 'sum'.") == "фильтра «sum» нет"
    with pytest.raises(TemplateError) as raised:
        render(SmsTemplate(text="{{ contact.name + 1 }}"), IVANOV)
    russian = said_in("ru", str(raised.value))
    assert russian.startswith("text, строка 1: ошибка в шаблоне: TypeError: "), russian


def test_the_messages_of_the_template_interface_are_said_in_russian() -> None:
    for message, said in [
        ("subject: an SMS template has a text only", "subject: в шаблоне SMS есть только текст"),
        ("an SMS template needs a text", "в шаблоне SMS нужен текст"),
        ("an e-mail template needs a subject and HTML", "в шаблоне письма нужны тема и HTML"),
    ]:
        assert error_message("ru", "invalid", message).startswith(said), message
