"""The marketer's starting point in the demo: a saved segment and two templates (a letter
and an SMS), so that the Campaigns page opens on something to preview and send, not on
empty lists. Saved through the store's own repositories, as the marketer would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.activity import ActivityStore
from hub.templates.template import EmailTemplate, SmsTemplate, Template

#: Who the demo's segment and templates are saved by.
AUTHOR = "demo"

SEGMENT_NAME = "Казань: клиенты с e-mail"
SEGMENT: dict[str, Any] = {
    "all": [
        {"field": "city", "op": "eq", "value": "Казань"},
        {"field": "has_email", "op": "eq", "value": True},
    ]
}


@dataclass(frozen=True, slots=True)
class DemoTemplate:
    """A template the demo saves, with its name."""

    name: str
    template: Template

    @property
    def channel(self) -> str:
        return "email" if isinstance(self.template, EmailTemplate) else "sms"


TEMPLATES = (
    DemoTemplate(
        "Новости компании",
        EmailTemplate(
            subject="{{ contact.name }}, новости этого месяца",
            html=(
                "<p>Здравствуйте, {{ contact.name }}!</p>\n"
                "<p>Рассказываем, что нового у нас в этом месяце: обновлённый каталог, "
                "доставка на следующий день и скидки постоянным клиентам.</p>\n"
                "{% if employee %}<p>Ваш менеджер — {{ employee.name }}; ответьте на это "
                "письмо, и он свяжется с вами.</p>{% endif %}"
            ),
        ),
    ),
    DemoTemplate(
        "Напоминание о встрече",
        SmsTemplate(text="{{ contact.name }}, напоминаем о встрече завтра. Отказ от SMS: СТОП"),
    ),
)


async def seed_marketing(store: ActivityStore) -> None:
    """Save the demo's segment and templates (first versions) in `store`."""
    await store.segments.create(name=SEGMENT_NAME, definition=SEGMENT, created_by=AUTHOR)
    for demo in TEMPLATES:
        saved = await store.templates.create(name=demo.name, channel=demo.channel, created_by=AUTHOR)
        template = demo.template
        await store.templates.add_version(
            saved.id,
            subject=template.subject if isinstance(template, EmailTemplate) else None,
            html=template.html if isinstance(template, EmailTemplate) else None,
            text=template.text,
            created_by=AUTHOR,
        )
