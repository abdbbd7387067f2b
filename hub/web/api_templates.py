"""Message templates under `/api/v1/templates`: list, save, read one with its versions, add
a version, and preview a text on a chosen contact.

A template's parts are the CLI's (`hub.templates.template_from`), checked by the same
`validate` before they are saved; a refusal names the part and the line. A preview never
fails for a broken text: it answers every problem with its part and line (the page shows
them as the marketer types), or the message as the contact would get it. SMS texts come
with their encoding and parts (`count_segments`, what the gateway will send).
Marketers and admins, by the campaigns' permission rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from hub.activity.repos.base import MAX_NAME
from hub.activity.repos.templates import SavedTemplate, TemplateVersion
from hub.campaigns.preview import template_preview
from hub.channels.sms.encoding import count_segments
from hub.errors import TemplateError, ValidationError
from hub.i18n import template_problem
from hub.templates import RenderedEmail, RenderedSms, Template, template_from, validate
from hub.templates.sandbox import MAX_SOURCE_CHARS
from hub.web.api_campaigns import CAMPAIGN_MANAGERS
from hub.web.auth import require
from hub.web.errors import requester_locale
from hub.web.keys import SETTINGS, STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.schemas import Body, BodyId, Name, NoQuery, Out

routes = web.RouteTableDef()
TAG = "templates"
#: The campaign name a preview shows when none is given.
PREVIEW_CAMPAIGN = "Preview"

Source = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE_CHARS)]

#: "An SMS has a text only; a letter a subject and HTML" as JSON Schema says it.
_PARTS_BY_CHANNEL: dict[str, Any] = {
    "oneOf": [
        {
            "required": ["channel", "text"],
            "properties": {
                "channel": {"const": "sms"},
                "text": {"type": "string"},
                "subject": {"type": "null"},
                "html": {"type": "null"},
            },
        },
        {
            "required": ["subject", "html"],
            "properties": {
                "channel": {"const": "email"},
                "subject": {"type": "string"},
                "html": {"type": "string"},
            },
        },
    ]
}


class Parts(Body):
    """A template's texts: e-mail subject, HTML and (optional) text; SMS text only."""

    subject: Source | None = None
    html: Source | None = None
    text: Source | None = None


def _template(channel: str, parts: Parts) -> Template:
    """The template of the parts, refused with its part and line when it cannot be saved."""
    if channel == "sms" and (parts.subject is not None or parts.html is not None):
        raise TemplateError("an SMS template has a text only", part="subject")
    template = template_from(channel, subject=parts.subject, html=parts.html, text=parts.text)
    validate(template)
    return template


class TemplateCreate(Parts):
    """A new template with its first version."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_PARTS_BY_CHANNEL)

    name: Annotated[Name, Field(max_length=MAX_NAME)]
    channel: Literal["email", "sms"] = "email"

    @model_validator(mode="after")
    def _channel_parts(self) -> TemplateCreate:
        if self.channel == "sms" and (self.text is None or self.subject or self.html):
            raise ValueError("an SMS template has a text and no subject or HTML")
        if self.channel == "email" and (self.subject is None or self.html is None):
            raise ValueError("an e-mail template needs a subject and HTML")
        return self


class PreviewIn(Parts):
    """Texts to render for a contact (a saved template's, or unsaved ones)."""

    channel: Literal["email", "sms"] = "email"
    contact_id: BodyId
    campaign_name: Annotated[Name, Field(max_length=MAX_NAME)] | None = None


class VersionOut(Out):
    version: int
    subject: str | None
    html: str | None
    text: str | None
    created_by: str
    created_at: datetime


class TemplateOut(Out):
    id: int
    name: str
    channel: str
    created_by: str
    created_at: datetime
    newest_version: int = Field(description="0 when no version is saved yet")


class TemplateDetail(TemplateOut):
    versions: list[VersionOut] = Field(description="newest first")


class TemplateList(Out):
    items: list[TemplateOut]


class ProblemOut(Out):
    """What stops a template: the part, the line (when known) and what is wrong."""

    part: str
    line: int | None
    message: str


class SmsPartsOut(Out):
    """How the gateway will send the text: encoding, parts, units and room left."""

    encoding: str
    parts: int
    units: int
    per_part: int
    left_in_last_part: int


class PreviewOut(Out):
    """The message as the contact would get it, or every problem (then `ok` is false)."""

    ok: bool
    errors: list[ProblemOut]
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    sms: SmsPartsOut | None = None


def _version(found: TemplateVersion) -> dict[str, Any]:
    return {
        "version": found.version,
        "subject": found.subject,
        "html": found.html,
        "text": found.text,
        "created_by": found.created_by,
        "created_at": found.created_at,
    }


def _out(saved: SavedTemplate, newest: int) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "channel": saved.channel,
        "created_by": saved.created_by,
        "created_at": saved.created_at,
        "newest_version": newest,
    }


async def _detail(request: web.Request, template_id: int) -> dict[str, Any]:
    store = request.app[STORE]
    saved = await store.templates.get(template_id)
    versions = await store.templates.versions(template_id)
    newest = versions[0].version if versions else 0
    return {**_out(saved, newest), "versions": [_version(v) for v in versions]}


@routes.get("/api/v1/templates")
@describe("List templates", tag=TAG, query=NoQuery, response=TemplateList, roles=CAMPAIGN_MANAGERS)
async def list_templates(request: web.Request) -> web.Response:
    """By name, with each one's newest version: one statement."""
    require(request, *CAMPAIGN_MANAGERS)
    parse_query(request, NoQuery)
    found = await request.app[STORE].templates.list()
    return respond(TemplateList, {"items": [_out(saved, newest) for saved, newest in found]})


@routes.post("/api/v1/templates")
@describe(
    "Save a new template with its first version (checked first: part and line)",
    tag=TAG,
    body=TemplateCreate,
    response=TemplateDetail,
    status=201,
    roles=CAMPAIGN_MANAGERS,
    errors=(409,),
)
async def create_template(request: web.Request) -> web.Response:
    """A name already taken is 409; a text that cannot be rendered 422 naming its part."""
    who = require(request, *CAMPAIGN_MANAGERS)
    body = await read_json(request, TemplateCreate)
    _template(body.channel, body)
    store = request.app[STORE]
    saved = await store.templates.create(name=body.name, channel=body.channel, created_by=who.name)
    await store.templates.add_version(
        saved.id, subject=body.subject, html=body.html, text=body.text, created_by=who.name
    )
    return created(
        TemplateDetail, await _detail(request, saved.id), f"/api/v1/templates/{saved.id}"
    )


@routes.post("/api/v1/templates/preview")
@describe(
    "Render texts for a chosen contact: the message, or every problem with its line",
    tag=TAG,
    body=PreviewIn,
    response=PreviewOut,
    roles=CAMPAIGN_MANAGERS,
)
async def preview_template(request: web.Request) -> web.Response:
    """A contact that does not exist is 404; a broken text is an answer, not an error."""
    require(request, *CAMPAIGN_MANAGERS)
    body = await read_json(request, PreviewIn)
    answer: dict[str, Any] = {"ok": False, "errors": []}
    locale = requester_locale(request)
    try:
        template = template_from(
            body.channel, subject=body.subject, html=body.html, text=body.text
        )
    except ValidationError as exc:  # a part missing: shown like any other problem
        message = template_problem(locale, str(exc))
        answer["errors"] = [{"part": exc.field or "text", "line": None, "message": message}]
        return respond(PreviewOut, answer)
    settings = request.app[SETTINGS]
    found = await template_preview(
        request.app[STORE],
        template,
        body.contact_id,
        company=settings.campaigns.company_name,
        campaign_name=body.campaign_name or PREVIEW_CAMPAIGN,
    )
    answer["errors"] = [_problem(e, locale) for e in found.errors]
    rendered = found.rendered
    if isinstance(rendered, RenderedEmail):
        answer.update(ok=True, subject=rendered.subject, html=rendered.html, text=rendered.text)
    elif isinstance(rendered, RenderedSms):
        answer.update(ok=True, text=rendered.text, sms=count_segments(rendered.text).as_dict())
    return respond(PreviewOut, answer)


def _problem(exc: TemplateError, locale: str) -> dict[str, Any]:
    """A problem with its part and line; what is wrong in the requester's language."""
    where = exc.part if exc.line is None else f"{exc.part}, line {exc.line}"
    message = template_problem(locale, str(exc).removeprefix(f"{where}: "))
    return {"part": exc.part, "line": exc.line, "message": message}


@routes.get("/api/v1/templates/{id}")
@describe(
    "Get a template with its versions", tag=TAG, query=NoQuery, response=TemplateDetail,
    roles=CAMPAIGN_MANAGERS,
)  # fmt: skip
async def get_template(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    template_id = path_id(request, what="template")
    parse_query(request, NoQuery)
    return respond(TemplateDetail, await _detail(request, template_id))


@routes.post("/api/v1/templates/{id}/versions")
@describe(
    "Save the next version of a template (checked first: part and line)",
    tag=TAG,
    body=Parts,
    response=TemplateDetail,
    status=201,
    roles=CAMPAIGN_MANAGERS,
    errors=(409,),
)
async def add_version(request: web.Request) -> web.Response:
    """Versions never change: campaigns keep the one they pinned."""
    who = require(request, *CAMPAIGN_MANAGERS)
    template_id = path_id(request, what="template")
    body = await read_json(request, Parts)
    store = request.app[STORE]
    saved = await store.templates.get(template_id)
    _template(saved.channel, body)
    await store.templates.add_version(
        template_id, subject=body.subject, html=body.html, text=body.text, created_by=who.name
    )
    return respond(TemplateDetail, await _detail(request, template_id), status=201)
