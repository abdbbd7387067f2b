"""Saved segments under `/api/v1/segments`: list, save, read one, and preview a definition.

The filter language is `hub.campaigns.segments` (decision 0020); the document states it
as JSON Schema generated from the whitelist (`hub.campaigns.segment_schema`), and every
definition is parsed by the same `parse` the CLI uses before anything is saved or
counted. Marketers and admins, by the campaigns' permission rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BeforeValidator, Field, Strict

from hub.activity.repos.base import MAX_NAME
from hub.activity.repos.segments import SavedSegment
from hub.campaigns.preview import MAX_SAMPLE, segment_preview
from hub.campaigns.segments import parse
from hub.errors import ValidationError
from hub.web.api_campaigns import CAMPAIGN_MANAGERS
from hub.web.auth import require
from hub.web.keys import STORE
from hub.web.openapi import describe
from hub.web.parsing import created, parse_query, path_id, read_json, respond
from hub.web.schemas import Body, Name, NoQuery, Out, SegmentDefinition, _json_integer

routes = web.RouteTableDef()
TAG = "segments"
DEFAULT_SAMPLE = 10

def checked(definition: dict[str, Any], field: str) -> dict[str, Any]:
    """`definition` if it parses; the refusal names the JSON path under `field`."""
    try:
        parse(definition)
    except ValidationError as exc:
        raise ValidationError(str(exc), field=f"{field}.{exc.field or ''}".rstrip(".")) from exc
    return definition


class SegmentCreate(Body):
    """A named filter to save."""

    name: Annotated[Name, Field(max_length=MAX_NAME)]
    definition: SegmentDefinition


class PreviewIn(Body):
    """A filter to count (and sample), saved or not."""

    definition: SegmentDefinition
    sample: Annotated[
        int, Strict(), Field(ge=0, le=MAX_SAMPLE), BeforeValidator(_json_integer)
    ] = DEFAULT_SAMPLE


class SegmentOut(Out):
    id: int
    name: str
    definition: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime


class SegmentList(Out):
    items: list[SegmentOut]


class PersonOut(Out):
    id: int
    name: str
    organisation: str | None
    city: str | None


class PreviewOut(Out):
    """How many contacts the filter has now, and a random few of them."""

    size: int
    sample: list[PersonOut]


def _out(saved: SavedSegment) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "definition": dict(saved.definition),
        "created_by": saved.created_by,
        "created_at": saved.created_at,
        "updated_at": saved.updated_at,
    }


@routes.get("/api/v1/segments")
@describe("List saved segments", tag=TAG, query=NoQuery, response=SegmentList, roles=CAMPAIGN_MANAGERS)
async def list_segments(request: web.Request) -> web.Response:
    """By name; one statement whatever their number."""
    require(request, *CAMPAIGN_MANAGERS)
    parse_query(request, NoQuery)
    saved = await request.app[STORE].segments.list()
    return respond(SegmentList, {"items": [_out(s) for s in saved]})


@routes.post("/api/v1/segments")
@describe(
    "Save a named segment (its filter checked first)",
    tag=TAG,
    body=SegmentCreate,
    response=SegmentOut,
    status=201,
    roles=CAMPAIGN_MANAGERS,
    errors=(409,),
)
async def create_segment(request: web.Request) -> web.Response:
    """A name already taken is 409."""
    who = require(request, *CAMPAIGN_MANAGERS)
    body = await read_json(request, SegmentCreate)
    definition = checked(body.definition, "definition")
    saved = await request.app[STORE].segments.create(
        name=body.name, definition=definition, created_by=who.name
    )
    return created(SegmentOut, _out(saved), f"/api/v1/segments/{saved.id}")


@routes.post("/api/v1/segments/preview")
@describe(
    "Count a filter's contacts now and show a random sample, without saving it",
    tag=TAG,
    body=PreviewIn,
    response=PreviewOut,
    roles=CAMPAIGN_MANAGERS,
)
async def preview_segment(request: web.Request) -> web.Response:
    """Three statements: the count, the sample ids, their names."""
    require(request, *CAMPAIGN_MANAGERS)
    body = await read_json(request, PreviewIn)
    found = await segment_preview(
        request.app[STORE], checked(body.definition, "definition"), body.sample
    )
    return respond(
        PreviewOut,
        {
            "size": found.size,
            "sample": [
                {"id": p.id, "name": p.name, "organisation": p.organisation, "city": p.city}
                for p in found.sample
            ],
        },
    )


@routes.get("/api/v1/segments/{id}")
@describe("Get a saved segment", tag=TAG, query=NoQuery, response=SegmentOut, roles=CAMPAIGN_MANAGERS)
async def get_segment(request: web.Request) -> web.Response:
    require(request, *CAMPAIGN_MANAGERS)
    segment_id = path_id(request, what="segment")
    parse_query(request, NoQuery)
    return respond(SegmentOut, _out(await request.app[STORE].segments.get(segment_id)))
