"""Repositories: named queries over the schema for what people do by hand or through the API.

Each takes the engine and the store's options, never the store: the store's record path
owns idempotent writes of touches, these own contacts, employees, activities, tokens, saved
segments, templates, suppressions, campaign bounces, campaigns, trigger rules and dialogs.
"""

from hub.activity.repos.activities import ActivityFilter, ActivityRepo, Page
from hub.activity.repos.base import MAX_PAGE
from hub.activity.repos.campaign_bounces import (
    BounceEvent,
    BounceKind,
    BounceOrigin,
    CampaignBouncesRepo,
    RecordedBounce,
)
from hub.activity.repos.campaigns import CampaignsRepo
from hub.activity.repos.contacts import (
    CONTACT_FIELDS,
    ContactRepo,
    MergeRecord,
    MergeResult,
    UnmergeResult,
)
from hub.activity.repos.dialogs import DialogFilter, DialogRepo, ReplyTarget
from hub.activity.repos.employees import EmployeeRepo
from hub.activity.repos.segments import SavedSegment, SegmentsRepo
from hub.activity.repos.suppressions import Reason, Suppressed, Suppression, SuppressionsRepo
from hub.activity.repos.templates import SavedTemplate, TemplatesRepo, TemplateVersion
from hub.activity.repos.tokens import TokenRepo, hash_token
from hub.activity.repos.triggers import TriggersRepo

__all__ = [
    "CONTACT_FIELDS",
    "MAX_PAGE",
    "ActivityFilter",
    "ActivityRepo",
    "BounceEvent",
    "BounceKind",
    "BounceOrigin",
    "CampaignBouncesRepo",
    "CampaignsRepo",
    "ContactRepo",
    "DialogFilter",
    "DialogRepo",
    "EmployeeRepo",
    "MergeRecord",
    "MergeResult",
    "Page",
    "Reason",
    "RecordedBounce",
    "ReplyTarget",
    "SavedSegment",
    "SavedTemplate",
    "SegmentsRepo",
    "Suppressed",
    "Suppression",
    "SuppressionsRepo",
    "TemplateVersion",
    "TemplatesRepo",
    "TokenRepo",
    "TriggersRepo",
    "UnmergeResult",
    "hash_token",
]
