"""Message templates as values: an e-mail (subject, HTML, text) or an SMS (one text)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.errors import ValidationError


class Part(StrEnum):
    """A part of a template; errors name it."""

    SUBJECT = "subject"
    HTML = "html"
    TEXT = "text"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailTemplate:
    """A letter: `text` is derived from the rendered HTML when None."""

    subject: str
    html: str
    text: str | None = None

    def parts(self) -> tuple[tuple[Part, str], ...]:
        """The parts present, in render order."""
        found = ((Part.SUBJECT, self.subject), (Part.HTML, self.html))
        return found if self.text is None else (*found, (Part.TEXT, self.text))


@dataclass(frozen=True, slots=True, kw_only=True)
class SmsTemplate:
    """A short message: one text part."""

    text: str

    def parts(self) -> tuple[tuple[Part, str], ...]:
        """The one text part."""
        return ((Part.TEXT, self.text),)


Template = EmailTemplate | SmsTemplate


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedEmail:
    """A rendered letter, ready for the sender."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedSms:
    """A rendered short message."""

    text: str


Rendered = RenderedEmail | RenderedSms


def template_from(
    channel: str, *, subject: str | None = None, html: str | None = None, text: str | None = None
) -> Template:
    """The template of a channel's parts as a user gives them (CLI or API): an SMS needs a
    text, a letter a subject and HTML (its text is derived when absent)."""
    if channel == "sms":
        if not text:
            raise ValidationError("an SMS template needs a text", field="text")
        return SmsTemplate(text=text)
    if not subject or not html:
        raise ValidationError("an e-mail template needs a subject and HTML", field="html")
    return EmailTemplate(subject=subject, html=html, text=text)
