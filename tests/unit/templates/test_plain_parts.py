"""Parts made only of text and plain lookups are filled without running the template:
for every template and value, the message, its letter and its outgoing touch are
exactly what the Jinja render gives, and a missing value is the same error."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

import pytest

from hub.channels.email.letter_builder import build_letter, letter_of
from hub.channels.email.meaning import Mailbox, interpret
from hub.errors import TemplateError
from hub.model import Address, AddressKind, Channel, OutgoingMessage, Touch
from hub.templates import (
    CampaignVariables,
    CompanyVariables,
    CompiledTemplate,
    ContactVariables,
    EmailTemplate,
    EmployeeVariables,
    RenderedEmail,
    SmsTemplate,
    Template,
    TemplateVariables,
    compile_template,
)

LONG = "Очень длинная тема письма, которой не хватит одной строки заголовка " * 3
#: (template, whether every part is filled without the template)
TEMPLATES: list[tuple[Template, bool]] = [
    (
        EmailTemplate(
            subject="Новости для {{ contact.name }}",
            html="<p>Здравствуйте, {{ contact.name }}!</p>"
            + "<p>Новости компании {{ company.name }}.</p>" * 8,
            text=None,
        ),
        True,
    ),
    (
        EmailTemplate(
            subject=LONG + "{{ contact.organisation }} — {{ contact.custom['order'] }}",
            html="<h1>{{ contact.name }}</h1><p title='{{ contact.name }}'>{{ contact.city }}</p>"
            "<a href='{{ campaign.unsubscribe_url }}'>Отписаться</a>\r\n",
            text="{{ contact.name }},\n\n{{ employee.name }} ({{ employee.email }})\n",
        ),
        True,
    ),
    (
        EmailTemplate(
            subject="Plain ASCII subject {{ contact.custom.order }}",
            html="<p>{{ contact.name | upper }}</p>",
            text=None,
        ),
        False,
    ),
    (
        EmailTemplate(
            subject="{{ contact.name }}",
            html="{% for i in range(2) %}<p>{{ contact.name }}</p>{% endfor %}",
            text="{{ contact.name ~ '!' }}",
        ),
        False,
    ),
    (SmsTemplate(text="{{ contact.name }}, ваш заказ {{ contact.custom['order'] }} готов"), True),
]
NAMES = [
    "Клиент 1",
    "O'Brien & Sons <b>",
    "строка\nвторая  с пробелами",
    '"кавычки" и {{ скобки }}',
    "\ue0000\ue001",
    "x" * 5000,
]


def variables(name: str, *, order: str | None = "A-17") -> TemplateVariables:
    return TemplateVariables(
        contact=ContactVariables(
            name=name,
            organisation="ООО «Стройресурс»",
            city="Казань",
            custom={} if order is None else {"order": order},
        ),
        company=CompanyVariables(name="Acme & Co"),
        campaign=CampaignVariables(name="news", unsubscribe_url="https://hub.acme.ru/u/x?a=1&b=2"),
        employee=EmployeeVariables(name="Иван Петров", email="ivan@acme.ru"),
    )


def by_template(compiled: CompiledTemplate) -> CompiledTemplate:
    """The same template rendered by Jinja for every part."""
    parts = {part: dataclasses.replace(c, plain=None) for part, c in compiled.parts.items()}
    return dataclasses.replace(compiled, parts=parts)


def touch_of(rendered: RenderedEmail, when: datetime) -> tuple[bytes, Touch]:
    message = OutgoingMessage(
        channel=Channel.EMAIL,
        to=(Address(kind=AddressKind.EMAIL, value="c1@client.test"),),
        subject=rendered.subject,
        body=rendered.text,
        html=rendered.html,
        message_id="c1.r1.a1@acme.ru",
        headers={
            "List-Unsubscribe": "<https://hub.acme.ru/u/x>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    sender = Address(kind=AddressKind.EMAIL, value="ivan@acme.ru")
    mid = "c1.r1.a1@acme.ru"
    raw = build_letter(message, sender=sender, message_id=mid, date=when)
    letter = letter_of(message, sender=sender, message_id=mid, date=when, size=len(raw))
    mailbox = Mailbox(
        account="ivan", addresses=("ivan@acme.ru",), company_domains=frozenset({"acme.ru"})
    )
    touch = next(t for t in interpret(letter, mailbox) if isinstance(t, Touch))
    # the MIME boundary is random per letter
    return re.sub(rb"=_th_[0-9a-f]+", b"=_th_B", raw), touch


@pytest.mark.parametrize(("template", "plain"), TEMPLATES)
def test_filled_parts_give_the_rendered_message_letter_and_touch(
    template: Template, plain: bool
) -> None:
    fast = compile_template(template)
    assert all(c.plain is not None for c in fast.parts.values()) is plain
    slow = by_template(fast)
    when = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    for name in NAMES:
        expected = slow.render(variables(name))
        got = fast.render(variables(name))
        assert got == expected, name
        if isinstance(got, RenderedEmail) and isinstance(expected, RenderedEmail):
            assert touch_of(got, when) == touch_of(expected, when), name


@pytest.mark.parametrize("template", [TEMPLATES[1][0], TEMPLATES[4][0]])
def test_a_missing_value_is_the_templates_error(template: Template) -> None:
    fast = compile_template(template)
    slow = by_template(fast)
    broken = dataclasses.replace(variables("Клиент", order=None), employee=None)
    with pytest.raises(TemplateError) as expected:
        slow.render(broken)
    with pytest.raises(TemplateError) as got:
        fast.render(broken)
    assert (str(got.value), got.value.part, got.value.line) == (
        str(expected.value),
        expected.value.part,
        expected.value.line,
    )


def test_a_text_past_the_limit_is_refused_as_before() -> None:
    fast = compile_template(SmsTemplate(text="{{ contact.name }}{{ contact.name }}"))
    with pytest.raises(TemplateError, match="longer than"):
        fast.render(variables("я" * 600_000))
