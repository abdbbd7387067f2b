"""Templates: checking at save time, rendering for one recipient, errors naming part and line."""

from __future__ import annotations

import pytest

from hub.errors import TemplateError
from hub.templates import (
    CampaignVariables,
    CompanyVariables,
    ContactVariables,
    EmailTemplate,
    EmployeeVariables,
    Part,
    RenderedEmail,
    RenderedSms,
    SmsTemplate,
    TemplateVariables,
    check,
    render,
    validate,
)

IVANOV = TemplateVariables(
    contact=ContactVariables(
        name="Иванов Иван Петрович",
        organisation="ООО «Стройресурс»",
        position="главный инженер",
        city="Екатеринбург",
        region="Свердловская область",
        importance="высокая",
        segment="A",
        custom={"инн": "6671000000", "менеджер_проекта": "Сидорова"},
    ),
    employee=EmployeeVariables(
        name="Петрова Анна", position="менеджер", email="petrova@romashka.ru", phone="+74951234567"
    ),
    company=CompanyVariables(name="ООО «Ромашка»"),
    campaign=CampaignVariables(
        name="Весенняя выставка", unsubscribe_url="https://romashka.ru/u/abc?x=1&y=2"
    ),
)
#: The same recipient with nothing but a name, no responsible employee and no unsubscribe link.
BARE = TemplateVariables(
    contact=ContactVariables(name="Смирнова"),
    company=CompanyVariables(name="ООО «Ромашка»"),
    campaign=CampaignVariables(name="Весенняя выставка"),
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Здравствуйте, {{ contact.name }}!", "Здравствуйте, Иванов Иван Петрович!"),
        ("{{ contact.organisation }}, {{ contact.position }}", "ООО «Стройресурс», главный инженер"),
        ("{{ contact.city }} ({{ contact.region }})", "Екатеринбург (Свердловская область)"),
        ("{{ contact.importance }}/{{ contact.segment }}", "высокая/A"),
        ("ИНН {{ contact.custom.инн }}", "ИНН 6671000000"),
        ("{{ contact.custom['менеджер_проекта'] }}", "Сидорова"),
        ("{{ employee.name }}, {{ employee.position }}", "Петрова Анна, менеджер"),
        ("{{ employee.email }} {{ employee.phone }}", "petrova@romashka.ru +74951234567"),
        ("{{ company.name }}: {{ campaign.name }}", "ООО «Ромашка»: Весенняя выставка"),
        ("{{ campaign.unsubscribe_url }}", "https://romashka.ru/u/abc?x=1&y=2"),
        ("{{ contact.name|upper }}", "ИВАНОВ ИВАН ПЕТРОВИЧ"),
        ("{{ contact.name.split()[1] }}", "Иван"),
        ("{% if contact.segment == 'A' %}VIP{% else %}—{% endif %}", "VIP"),
        ("{{ contact.city|default('ваш город') }}", "Екатеринбург"),
        ("{% for k, v in contact.custom|dictsort %}{{ k }}={{ v }};{% endfor %}",
         "инн=6671000000;менеджер_проекта=Сидорова;"),
        ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
        ("{% macro hi(n) %}Привет, {{ n }}{% endmacro %}{{ hi(contact.name) }}",
         "Привет, Иванов Иван Петрович"),
        ("{{ contact.name ~ ' (' ~ contact.city ~ ')' }}", "Иванов Иван Петрович (Екатеринбург)"),
        ("{{ 2 ** 10 }} {{ 7 // 2 }} {{ 7 % 3 }}", "1024 3 1"),
    ],
)  # fmt: skip
def test_sms_renders_every_variable(source: str, expected: str) -> None:
    assert render(SmsTemplate(text=source), IVANOV) == RenderedSms(text=expected)


def test_letter_escapes_values_in_html_only_and_derives_the_text() -> None:
    people = TemplateVariables(
        contact=ContactVariables(name="Иван <script>alert(1)</script> & Ко"),
        company=IVANOV.company,
        campaign=IVANOV.campaign,
    )
    letter = EmailTemplate(
        subject="{{ contact.name }}: приглашение",
        html=(
            "<p>Здравствуйте, {{ contact.name }}!</p>\n"
            '<p><a href="{{ campaign.unsubscribe_url }}">Отписаться</a></p>'
        ),
    )
    assert render(letter, people) == RenderedEmail(
        subject="Иван <script>alert(1)</script> & Ко: приглашение",
        html=(
            "<p>Здравствуйте, Иван &lt;script&gt;alert(1)&lt;/script&gt; &amp; Ко!</p>\n"
            '<p><a href="https://romashka.ru/u/abc?x=1&amp;y=2">Отписаться</a></p>'
        ),
        text=(
            "Здравствуйте, Иван <script>alert(1)</script> & Ко!\n\n"
            "Отписаться (https://romashka.ru/u/abc?x=1&y=2)"
        ),
    )


def test_letter_keeps_its_own_text_part() -> None:
    letter = EmailTemplate(subject="Тема", html="<p>HTML</p>", text="Текст для {{ contact.name }}")
    rendered = render(letter, IVANOV)
    assert isinstance(rendered, RenderedEmail)
    assert rendered.text == "Текст для Иванов Иван Петрович"


def test_subject_is_one_line_even_when_a_value_has_line_breaks() -> None:
    crafted = TemplateVariables(
        contact=ContactVariables(name="Иван\r\nBcc: all@example.com"),
        company=IVANOV.company,
        campaign=IVANOV.campaign,
    )
    rendered = render(EmailTemplate(subject="Для {{ contact.name }}", html="<p>x</p>"), crafted)
    assert isinstance(rendered, RenderedEmail)
    assert rendered.subject == "Для Иван Bcc: all@example.com"


@pytest.mark.parametrize(
    ("template", "part", "line", "message"),
    [
        (SmsTemplate(text="Привет, {{ contact.nmae }}"), Part.TEXT, 1, "contact.nmae does not exist"),
        (SmsTemplate(text="a\nb\n{{ client.name }}"), Part.TEXT, 3, "unknown variable 'client'"),
        (SmsTemplate(text="{{ employee.mail }}"), Part.TEXT, 1, "employee.mail does not exist"),
        (SmsTemplate(text="{{ campaign['unsubscribe'] }}"), Part.TEXT, 1, "campaign.unsubscribe does not exist"),
        (SmsTemplate(text="{{ company.inn }}"), Part.TEXT, 1, "company.inn does not exist"),
        (SmsTemplate(text="\n{{ contact.name "), Part.TEXT, 2, "unexpected end of template"),
        (SmsTemplate(text="{% if contact.city %}Москва"), Part.TEXT, 1, "endif"),
        (SmsTemplate(text="{{ contact.name|center(80) }}"), Part.TEXT, 1, "No filter named 'center'"),
        (SmsTemplate(text="{{ contact.name|_th_out }}"), Part.TEXT, 1, "no filter or test '_th_out'"),
        (SmsTemplate(text="{% set contact = 1 %}"), Part.TEXT, 1, "'contact' cannot be assigned"),
        (SmsTemplate(text="{% include 'footer.html' %}"), Part.TEXT, 1, "'include' tag is not allowed"),
        (SmsTemplate(text="{% import 'm.html' as m %}"), Part.TEXT, 1, "'import' tag is not allowed"),
        (SmsTemplate(text="{% extends 'base.html' %}"), Part.TEXT, 1, "'extends' tag is not allowed"),
        (EmailTemplate(subject="Тема", html="<p>\n{% autoescape false %}{{ contact.name }}{% endautoescape %}</p>"),
         Part.HTML, 2, "'autoescape' tag is not allowed"),
        (EmailTemplate(subject="{{ contact.gorod }}", html="<p></p>"), Part.SUBJECT, 1, "contact.gorod does not exist"),
        (EmailTemplate(subject=" ", html="<p></p>"), Part.SUBJECT, None, "needs a subject"),
        (EmailTemplate(subject="Тема", html="<p></p>", text="\n\n{{ campaign.nme }}"), Part.TEXT, 3, "campaign.nme"),
        (SmsTemplate(text="x" * (256 * 1024 + 1)), Part.TEXT, None, "longer than"),
    ],
)  # fmt: skip
def test_validate_names_part_line_and_problem(
    template: EmailTemplate | SmsTemplate, part: Part, line: int | None, message: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        validate(template)
    assert (caught.value.part, caught.value.line) == (part, line)
    assert message in str(caught.value)
    assert caught.value.field == part  # a ValidationError naming the field, for the API


def test_check_lists_every_problem_of_every_part() -> None:
    problems = check(
        EmailTemplate(
            subject="{{ contact.nmae }}",
            html="<p>{{ employee.fio }}</p>\n<p>{{ x }}</p>",
            text="{{ campaign.url }}",
        )
    )
    assert [(p.part, p.line) for p in problems] == [
        (Part.SUBJECT, 1), (Part.HTML, 2), (Part.HTML, 1), (Part.TEXT, 1),
    ]  # fmt: skip


def test_a_valid_template_passes() -> None:
    validate(
        EmailTemplate(
            subject="{{ campaign.name }} для {{ contact.name }}",
            html="<p>{{ contact.custom.любое_поле }}</p>{% for c in contact.name %}{{ c }}{% endfor %}",
            text=None,
        )
    )


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("{{ contact.city }}", 1, "contact.city has no value for this recipient"),
        ("Строка\n{{ contact.custom.инн }}", 2, "contact.custom.инн has no value for this recipient"),
        ("\n\n{{ employee.name }}", 3, "this recipient has no employee"),
        ("{{ campaign.unsubscribe_url }}", 1, "campaign.unsubscribe_url has no value"),
        ("{% if contact.region == 'x' %}{% endif %}", 1, "contact.region has no value"),
        ("{{ contact.name ~ contact.position }}", 1, "contact.position has no value"),
    ],
)
def test_a_missing_value_is_an_error_naming_the_line_never_a_blank(
    source: str, line: int, message: str
) -> None:
    with pytest.raises(TemplateError) as caught:
        render(SmsTemplate(text=source), BARE)
    assert caught.value.part == Part.TEXT
    assert caught.value.line == line
    assert message in str(caught.value)


def test_a_missing_value_in_html_names_the_html_part() -> None:
    letter = EmailTemplate(subject="Тема", html="<p>\n\n{{ contact.organisation }}</p>")
    with pytest.raises(TemplateError) as caught:
        render(letter, BARE)
    assert (caught.value.part, caught.value.line) == (Part.HTML, 3)
