"""Before anything is sent: a segment's size and a sample of its people, and a template
rendered for one chosen contact — what `touchhub segment count` and the Campaigns page
show, by the same rules the engine sends with.

A template is checked whole first (every problem with its part and line, as at save
time), then rendered with the contact's variables exactly as `engine.variables_of`
builds them for a recipient, so a value the contact lacks is the same error the send
would meet, never a blank.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.activity import ActivityStore
from hub.activity.repos.campaigns import Claimed
from hub.campaigns import segment_sql
from hub.campaigns.engine import variables_of
from hub.campaigns.segments import parse
from hub.errors import TemplateError, UnknownReference
from hub.templates import Rendered, Template, check, compile_template

#: The most sample members a preview shows.
MAX_SAMPLE = 100
#: What ``{{ campaign.unsubscribe_url }}`` shows in a preview (each letter gets its own link).
PREVIEW_UNSUBSCRIBE_URL = "https://example.invalid/u/preview"


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A member of a sample, as the marketer recognises them."""

    id: int
    name: str
    organisation: str | None
    city: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentPreview:
    """How many contacts a definition has now, and a random few of them."""

    size: int
    sample: tuple[Person, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplatePreview:
    """The message one contact would get, or every problem that stops it (part and line)."""

    rendered: Rendered | None
    errors: tuple[TemplateError, ...]


@dataclass(frozen=True, slots=True)
class _Campaign:
    name: str


async def segment_preview(
    store: ActivityStore, definition: Mapping[str, Any], sample: int
) -> SegmentPreview:
    """The size and a random `sample` of the members of `definition` (parsed first)."""
    node = parse(dict(definition))
    size = await segment_sql.count(store.engine, node)
    ids = await segment_sql.sample(store.engine, node, min(sample, MAX_SAMPLE)) if sample else []
    return SegmentPreview(size=size, sample=tuple(await people(store, ids)))


async def people(store: ActivityStore, ids: Sequence[int]) -> list[Person]:
    """The contacts of `ids`, in that order (ids of no contact left out)."""
    found = await store.campaigns.people(ids)
    return [
        Person(
            id=cid,
            name=str(found[cid]["name"]),
            organisation=found[cid]["organisation"],
            city=found[cid]["city"],
        )
        for cid in ids
        if cid in found
    ]


async def template_preview(
    store: ActivityStore,
    template: Template,
    contact_id: int,
    *,
    company: str,
    campaign_name: str,
) -> TemplatePreview:
    """`template` rendered for the contact `contact_id` (an `UnknownReference` if none)."""
    problems = check(template)
    person = (await store.campaigns.people([contact_id])).get(contact_id)
    if person is None:
        raise UnknownReference(f"no contact {contact_id}", field="contact_id")
    if problems:
        return TemplatePreview(rendered=None, errors=tuple(problems))
    claimed = Claimed(id=0, address="", attempts=0, **person)
    variables = variables_of(
        claimed, _Campaign(campaign_name), company, unsubscribe_url=PREVIEW_UNSUBSCRIBE_URL
    )
    try:
        rendered = compile_template(template).render(variables)
    except TemplateError as exc:
        return TemplatePreview(rendered=None, errors=(exc,))
    return TemplatePreview(rendered=rendered, errors=())
