"""The variables a template may use: contact, responsible employee, company, campaign.

`TemplateVariables` is built from plain values (the campaign engine fills it from the
store); `VARIABLE_MODEL` is what `validate` checks a template's references against.
A value that is None is *missing*: printing it fails the render instead of leaving a
blank in a letter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

#: The attribute of `contact` that holds the custom fields (any key is allowed there).
CUSTOM = "custom"


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactVariables:
    """The recipient as a template sees it."""

    name: str
    organisation: str | None = None
    position: str | None = None
    city: str | None = None
    region: str | None = None
    importance: str | None = None
    segment: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmployeeVariables:
    """The employee responsible for the contact (the letter's signature)."""

    name: str
    position: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyVariables:
    """Our own company, from the configuration."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CampaignVariables:
    """The campaign sending the message."""

    name: str
    unsubscribe_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateVariables:
    """Everything one message is rendered from; `employee` is None when nobody owns the contact."""

    contact: ContactVariables
    company: CompanyVariables
    campaign: CampaignVariables
    employee: EmployeeVariables | None = None


def _names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


#: Top-level name → the attributes a template may read from it.
VARIABLE_MODEL: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "contact": _names(ContactVariables),
        "employee": _names(EmployeeVariables),
        "company": _names(CompanyVariables),
        "campaign": _names(CampaignVariables),
    }
)

