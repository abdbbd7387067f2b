"""The text part made once per template version: for every template and every value it
is exactly what converting the recipient's rendered HTML gives."""

from __future__ import annotations

import pytest

from hub.templates import (
    CampaignVariables,
    CompanyVariables,
    ContactVariables,
    EmailTemplate,
    TemplateVariables,
    compile_template,
    html_to_text,
)

#: HTML parts: plain lookups in text (made once), and shapes that must be converted per
#: recipient (a value in an attribute, a link's label, a filter, an unfinished entity).
SOURCES = [
    ("<p>Здравствуйте, {{ contact.name }}!</p>" + "<p>Новости {{ company.name }}.</p>" * 3, True),
    ("<h1>{{ contact.name }}</h1><ul><li>{{ contact.city }}</li><li>{{ contact.custom.order }}</li></ul>", True),
    ("<p>  {{ contact.name }}  </p><pre>  {{ contact.city }}\n x</pre><br>{{ company.name }}", True),
    ("<table><tr><td>{{ contact.name }}</td><td>{{ contact.custom['order'] }}</td></tr></table>", True),
    ("<p>{{ contact.name }}{{ contact.city }}</p><script>{{ contact.name }}</script>", True),
    ("<p>Ваш менеджер: <a href='mailto:{{ contact.city }}'>{{ contact.name }}</a></p>", False),
    ("<p><a href='https://acme.ru'>{{ contact.name }}</a></p>", False),
    ("<p title='{{ contact.name }}'>x</p>", False),
    ("<p>{{ contact.name | upper }}</p>", False),
    ("<p>&{{ contact.name }}</p>", False),
    ("<p>{% if contact.city %}{{ contact.city }}{% endif %}</p>", False),
    ("<p>Без переменных</p>", False),
]
NAMES = [
    "Клиент 1",
    "Иванов Иван Петрович",
    "ООО «Стройресурс»",
    "O'Brien & Sons",
    "<b>жирный</b>",
    "  два  пробела ",
    "строка\nвторая",
    "amp;",
    "https://acme.ru",
    "7",
    "\ue0000\ue001",
    "неразрывный\u00a0пробел",
]


def variables(name: str) -> TemplateVariables:
    return TemplateVariables(
        contact=ContactVariables(name=name, city="Казань", custom={"order": "A-17"}),
        company=CompanyVariables(name="Acme"),
        campaign=CampaignVariables(name="news"),
    )


@pytest.mark.parametrize(("source", "made_once"), SOURCES)
def test_the_text_is_the_html_converted_for_every_value(source: str, made_once: bool) -> None:
    compiled = compile_template(EmailTemplate(subject="s", html=source, text=None))
    assert (compiled.derived is not None) is made_once
    for name in NAMES:
        letter = compiled.render(variables(name))
        assert letter.text == html_to_text(letter.html), (source, name)


def test_a_written_text_part_is_kept() -> None:
    compiled = compile_template(
        EmailTemplate(subject="s", html="<p>{{ contact.name }}</p>", text="T {{ contact.name }}")
    )
    assert compiled.derived is None
    assert compiled.render(variables("Клиент 1")).text == "T Клиент 1"
