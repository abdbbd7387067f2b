"""HTTP SMS providers described by a TOML profile, and the sans-IO work a profile drives.

A profile says how to submit one SMS (method, URL, query/form/JSON body from templates,
auth), how to read the provider's answer (JSON paths of the message id, the error code and
text; which HTTP statuses and codes mean "try later" or "credentials refused"), and how
its callbacks look (form or JSON, several events in one request, which fields are a
delivery report or an incoming SMS, provider statuses → ours) and are verified (our token,
an HMAC over URL and parameters, or a digest over named fields with a shared secret).
Shipped profiles live in `hub/channels/sms/profiles/`; a user adds a provider by writing
one and naming its path in `[sms.gateways.NAME] profile`.

Templates use ``{name}`` fields: ``username``, ``password``, ``sender``, ``to`` (as given),
``to_digits``, ``to_plus``, ``text``, ``message_id``, ``dlr_url``, ``mo_url``; in callbacks
the event's own fields and ``secret``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import ConfigError, ProtocolError
from hub.model import Status

#: Where the shipped profiles are.
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
#: Fields a send template may name.
SEND_FIELDS = frozenset(
    {"username", "password", "sender", "to", "to_digits", "to_plus", "text", "message_id", "dlr_url", "mo_url"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Strict):
    """How the provider knows us: nothing, HTTP basic, a bearer token, or a key in the query/a header."""

    kind: Literal["none", "basic", "bearer", "query", "header"] = "none"
    #: query/header: the parameter or header name; the value is `value`
    name: str | None = None
    value: str = "{password}"
    username: str = "{username}"
    password: str = "{password}"

    @model_validator(mode="after")
    def _named(self) -> Auth:
        if self.kind in ("query", "header") and not self.name:
            raise ValueError(f"auth kind {self.kind} needs a name")
        return self


class SendSpec(_Strict):
    """One SMS as a request, and its answer."""

    method: Literal["GET", "POST"] = "POST"
    #: path below the gateway's url (or a whole URL), a template
    path: str
    body: Literal["query", "form", "json"] = "form"
    #: parameters, templates; one that renders empty is left out
    params: dict[str, str] = Field(default_factory=dict)
    auth: Auth = Auth()
    #: JSON path of the provider's message id; "" = the provider keeps ours (callbacks carry it)
    id_path: str = ""
    #: JSON path whose value must equal `ok_value` for the message to be taken
    ok_path: str | None = None
    ok_value: str | None = None
    #: JSON paths tried in order for the error code and text
    error_code_paths: list[str] = Field(default_factory=list)
    error_text_paths: list[str] = Field(default_factory=list)
    ok_http: list[int] = Field(default_factory=lambda: [200, 201, 202])
    temporary_http: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504])
    auth_http: list[int] = Field(default_factory=lambda: [401, 403])
    temporary_codes: list[str] = Field(default_factory=list)
    auth_codes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_known(self) -> SendSpec:
        templates = [self.path, *self.params.values(), self.auth.value, self.auth.username, self.auth.password]
        for template in templates:
            unknown = template_fields(template) - SEND_FIELDS
            if unknown:
                raise ValueError(f"unknown template field(s) {sorted(unknown)} in {template!r}")
        return self


class Verify(_Strict):
    """How callbacks prove they come from the provider."""

    #: token: our `dlr_secret` as ?token= or X-Touchhub-Token; hmac_url_params: an HMAC of the
    #: URL called plus the sorted POST parameters in a header (Twilio); digest_fields: a
    #: digest of a template over the event's fields in one of its fields (SMSC.ru's md5)
    kind: Literal["token", "hmac_url_params", "digest_fields"] = "token"
    algorithm: Literal["sha1", "sha256", "md5"] = "sha1"
    encoding: Literal["base64", "hex"] = "base64"
    header: str | None = None
    field: str | None = None
    #: which secret signs: our `dlr_secret`, or the account `password` (Twilio's auth token)
    secret: Literal["dlr_secret", "password"] = "dlr_secret"

    @model_validator(mode="after")
    def _where(self) -> Verify:
        if self.kind == "hmac_url_params" and not self.header:
            raise ValueError("verify kind hmac_url_params needs a header")
        if self.kind == "digest_fields" and not self.field:
            raise ValueError("verify kind digest_fields needs a field")
        return self


class DlrMapping(_Strict):
    """Which events are delivery reports, and what they mean."""

    #: field → value that an event must have (value "*" = present at all)
    when: dict[str, str] = Field(default_factory=dict)
    #: the field with the provider's id (as its answer to the submit gave it)
    id: str
    #: a field carrying OUR message id, when the provider calls the per-message URL we gave
    #: (`{dlr_url}` ends in ?id=OURS); preferred over `id` when present
    our_id: str | None = None
    status: str
    statuses: dict[str, Status]
    #: status of a provider value not listed; none = the event is ignored
    default: Status | None = None
    error: str | None = None
    #: digest_fields: the template that is signed
    signed: str | None = None


class MoMapping(_Strict):
    """Which events are incoming SMS, and their fields."""

    when: dict[str, str] = Field(default_factory=dict)
    id: str | None = None
    sender: str = Field(alias="from")
    to: str | None = None
    text: str
    signed: str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Callbacks(_Strict):
    """How the provider calls us back."""

    content: Literal["form", "json"] = "form"
    #: several events in one request: every form field whose name starts with this,
    #: its value split by `split` into `names` (SMS.ru's data[N])
    items_prefix: str | None = None
    split: str = "\n"
    names: list[str] = Field(default_factory=list)
    reply: str = ""
    reply_content_type: str = "text/plain"
    verify: Verify = Verify()
    dlr: DlrMapping | None = None
    mo: MoMapping | None = None


class Profile(_Strict):
    """A provider, as a TOML file describes it."""

    name: str
    docs: str = ""
    send: SendSpec
    callbacks: Callbacks = Callbacks()


def template_fields(template: str) -> frozenset[str]:
    """The ``{field}`` names a template uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a template; a field without a value is a `ProtocolError` (names it)."""
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ProtocolError(f"template {template!r} needs {exc}", channel="sms") from exc


def load_profile(name_or_path: str, *, base: Path | None = None) -> Profile:
    """A shipped profile by name, or a TOML file by path (relative to `base`)."""
    path = Path(name_or_path)
    if path.suffix != ".toml" and "/" not in name_or_path:
        path = PROFILES_DIR / f"{name_or_path}.toml"
    elif not path.is_absolute() and base is not None:
        path = base / path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
        raise ConfigError(f"no SMS provider profile {name_or_path!r} (shipped: {shipped})") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"SMS provider profile {path}: {exc}") from exc
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"SMS provider profile {path}: {exc}") from exc


# ------------------------------------------------------------------ the answer to a send


class AnswerKind(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TEMPORARY = "temporary"
    AUTH_FAILED = "auth_failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendAnswer:
    """What the provider said to one submit."""

    kind: AnswerKind
    http_status: int
    provider_id: str | None = None
    code: str | None = None
    text: str = ""

    @property
    def detail(self) -> str:
        words = [str(self.http_status)]
        if self.code is not None:
            words.append(f"code {self.code}")
        if self.text:
            words.append(self.text)
        return " ".join(words)


def json_get(document: Any, path: str) -> Any:
    """The value at a dotted path (``sms.79001234567.sms_id``, list indexes as numbers), or None."""
    node = document
    for key in path.split("."):
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
        if node is None:
            return None
    return node


def _first(document: Any, paths: list[str], values: Mapping[str, str]) -> str | None:
    for path in paths:
        value = json_get(document, render(path, values))
        if value is not None and not isinstance(value, dict | list):
            return str(value)
    return None


def read_answer(spec: SendSpec, http_status: int, body: bytes, values: Mapping[str, str]) -> SendAnswer:
    """Classify the provider's answer to a submit; unreadable JSON is a `ProtocolError`."""
    document: Any = None
    if body.strip():
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            if http_status in spec.ok_http:
                raise ProtocolError(f"provider answered {http_status} with no JSON: {body[:200]!r}", channel="sms") from exc
    code = _first(document, spec.error_code_paths, values)
    text = _first(document, spec.error_text_paths, values) or ""
    if http_status in spec.auth_http or (code is not None and code in spec.auth_codes):
        return SendAnswer(kind=AnswerKind.AUTH_FAILED, http_status=http_status, code=code, text=text)
    if http_status in spec.temporary_http or (code is not None and code in spec.temporary_codes):
        return SendAnswer(kind=AnswerKind.TEMPORARY, http_status=http_status, code=code, text=text)
    taken = http_status in spec.ok_http
    if taken and spec.ok_path is not None:
        taken = str(json_get(document, render(spec.ok_path, values))) == spec.ok_value
    provider_id: str | None = values["message_id"]
    if taken and spec.id_path:
        found = json_get(document, render(spec.id_path, values))
        provider_id = None if found is None or isinstance(found, dict | list) else str(found)
        taken = bool(provider_id)
    if not taken:
        return SendAnswer(kind=AnswerKind.REJECTED, http_status=http_status, code=code, text=text)
    return SendAnswer(kind=AnswerKind.ACCEPTED, http_status=http_status, provider_id=provider_id, code=code, text=text)


# ------------------------------------------------------------------ callbacks


class CallbackRefused(ProtocolError):
    """A callback that fails verification: `unsigned` (401) or forged (403)."""

    def __init__(self, message: str, *, unsigned: bool) -> None:
        super().__init__(message, channel="sms")
        self.unsigned = unsigned


def callback_events(callbacks: Callbacks, params: Mapping[str, str], body: bytes) -> list[dict[str, str]]:
    """The events in one callback request (query and form fields, or a JSON body)."""
    if callbacks.content == "json":
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(f"callback body is not JSON: {exc}", channel="sms") from exc
        items = document if isinstance(document, list) else [document]
        if not all(isinstance(i, dict) for i in items):
            raise ProtocolError("callback JSON is not an object or a list of objects", channel="sms")
        return [{**params, **{k: "" if v is None else str(v) for k, v in i.items()}} for i in items]
    prefix = callbacks.items_prefix
    if prefix is None:
        return [dict(params)]
    events: list[dict[str, str]] = []
    for key in sorted((k for k in params if k.startswith(prefix)), key=_index_of):
        parts = params[key].split(callbacks.split)
        events.append(dict(zip(callbacks.names, parts, strict=False)))
    if not events:
        raise ProtocolError(f"callback without any {prefix}… field", channel="sms")
    return events


def _index_of(key: str) -> tuple[int, str]:
    digits = "".join(c for c in key if c.isdigit())
    return (int(digits) if digits else 0, key)


def matches(when: Mapping[str, str], event: Mapping[str, str]) -> bool:
    """True when the event has every field `when` asks for ("*" = any value)."""
    return all(k in event and (v == "*" or event[k] == v) for k, v in when.items())


def _digest(algorithm: str, key: bytes | None, data: bytes, encoding: str) -> str:
    raw = (
        hmac.new(key, data, algorithm).digest()
        if key is not None
        else hashlib.new(algorithm, data, usedforsecurity=False).digest()
    )
    return base64.b64encode(raw).decode() if encoding == "base64" else raw.hex()


def url_params_signature(verify: Verify, secret: str, url: str, form: Mapping[str, str]) -> str:
    """HMAC of the URL called followed by each POST parameter's name and value, sorted by name."""
    data = url + "".join(f"{k}{form[k]}" for k in sorted(form))
    return _digest(verify.algorithm, secret.encode("utf-8"), data.encode("utf-8"), verify.encoding)


def fields_digest(verify: Verify, template: str, event: Mapping[str, str], secret: str) -> str:
    """Digest of `template` filled with the event's fields and the secret."""
    data = render(template, {**event, "secret": secret})
    return _digest(verify.algorithm, None, data.encode("utf-8"), verify.encoding)


def verify_signature(
    verify: Verify,
    *,
    secret: str | None,
    url: str,
    form: Mapping[str, str],
    headers: Mapping[str, str],
    events: list[tuple[dict[str, str], str | None]],
) -> None:
    """Check a callback's signature (not for kind token); raises `CallbackRefused`."""
    if secret is None:
        raise CallbackRefused("no secret configured to check callbacks with", unsigned=False)
    if verify.kind == "hmac_url_params":
        assert verify.header is not None
        given = headers.get(verify.header)
        if not given:
            raise CallbackRefused(f"no {verify.header} header", unsigned=True)
        expected = url_params_signature(verify, secret, url, form)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise CallbackRefused(f"{verify.header} does not match", unsigned=False)
        return
    assert verify.field is not None
    for event, template in events:
        given = event.get(verify.field)
        if not given:
            raise CallbackRefused(f"no {verify.field} field", unsigned=True)
        if template is None:
            raise CallbackRefused("the profile signs no template for this event", unsigned=False)
        try:
            expected = fields_digest(verify, template, event, secret)
        except ProtocolError as exc:
            raise CallbackRefused(f"cannot check the signature: {exc}", unsigned=False) from exc
        if not hmac.compare_digest(given.lower().encode(), expected.lower().encode()):
            raise CallbackRefused(f"{verify.field} does not match", unsigned=False)
