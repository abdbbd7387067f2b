"""The one typed settings tree, loaded once from `touchhub.toml` and passed down.

Any string in the file may be written as ``"env:VARIABLE"``; it is read from the
environment here and nowhere else. Secrets are `SecretStr`, so they never print.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.engine import make_url

from hub.campaigns.settings import CampaignSettings
from hub.channels.plugin import ChannelPlugin
from hub.channels.registry import load_plugins
from hub.errors import ConfigError
from hub.urls import sqlite_file
from kpi.settings import KpiSettings

DEFAULT_CONFIG_FILE = "touchhub.toml"
#: Environment variable naming the config file when ``--config`` is not given.
CONFIG_ENV = "TOUCHHUB_CONFIG"
DEFAULT_STORE_URL = "sqlite:///data/touchhub.db"
ENV_PREFIX = "env:"
#: Environment of a web worker of `serve --workers N`: the secret it shares with the main
#: process (guarding that process's internal port), and the main process's pid.
WORKER_SECRET_ENV = "TOUCHHUB_WORKER_SECRET"
WORKER_PARENT_ENV = "TOUCHHUB_WORKER_PARENT"


def _phone_region(region: str) -> str:
    """A region phonenumbers knows (RU, KZ, BY…), upper-cased: an unknown one read every
    number written without +7 as invalid, silently, import after import."""
    upper = region.strip().upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}: a two-letter country code such as RU, KZ or BY")
    return upper


class StoreSettings(BaseModel):
    """Where activities live and how writes are batched."""

    model_config = ConfigDict(extra="forbid")

    url: SecretStr = SecretStr(DEFAULT_STORE_URL)
    batch_size: int = Field(default=5000, ge=1)
    batch_window_ms: int = Field(default=50, ge=1)
    queue_size: int = Field(default=10_000, ge=1)
    default_region: Annotated[str, AfterValidator(_phone_region)] = "RU"
    unknown_counterparty: Literal["lead", "unlinked"] = "lead"


class WebSettings(BaseModel):
    """The aiohttp app: REST API and dashboard."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1_048_576
    public_url: str | None = None
    #: Language of the dashboard and the CLI ("ru" | "en"); unset: by `[kpi] timezone`.
    locale: Literal["ru", "en"] | None = None


class LoggingSettings(BaseModel):
    """Log level and format."""

    model_config = ConfigDict(extra="forbid")

    level: str = "INFO"
    json_format: bool = Field(default=False, alias="json")


class SupervisorSettings(BaseModel):
    """Restart policy of adapters."""

    model_config = ConfigDict(extra="forbid")

    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0


class DialogSettings(BaseModel):
    """`[dialogs]`: messenger dialogs. `queue`: the employee id that owns dialogs of
    contacts nobody is responsible for; `reply_within_minutes`: how long an incoming
    message may wait before a reply task is raised."""

    model_config = ConfigDict(extra="forbid")

    queue: int | None = Field(default=None, ge=1)
    reply_within_minutes: int = Field(default=30, ge=1, le=10_080)


class CoreSettings(BaseModel):
    """Everything touchhub can be told that is not a channel's own section."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    dialogs: DialogSettings = Field(default_factory=DialogSettings)
    demo_on_empty: bool = True
    source_path: Path | None = Field(default=None, exclude=True)

    @property
    def store_url(self) -> str:
        return self.store.url.get_secret_value()

    @model_validator(mode="after")
    def _company_timezone(self) -> CoreSettings:
        """A channel section's `company_timezone` left unset is the company's `[kpi] timezone`."""
        for name in type(self).model_fields:
            section = getattr(self, name)
            if isinstance(section, BaseModel) and getattr(section, "company_timezone", "") is None:
                setattr(section, "company_timezone", self.kpi.timezone)  # noqa: B010
        return self


def settings_model(plugins: tuple[ChannelPlugin[Any], ...]) -> type[CoreSettings]:
    """`CoreSettings` plus one field per channel: its section, validated by its own model."""
    clash = [p.section for p in plugins if p.section in CoreSettings.model_fields]
    if clash:
        raise ConfigError(f"channel section(s) {', '.join(clash)} clash with core settings")
    sections: dict[str, Any] = {
        p.section: (p.settings_model, Field(default_factory=p.settings_model)) for p in plugins
    }
    return create_model(
        "Settings",
        __base__=CoreSettings,
        __module__=__name__,
        __doc__="Everything touchhub can be told: the core sections and one per channel.",
        **sections,
    )


if TYPE_CHECKING:
    #: To mypy the channel sections are unknown: channel code reads its own section,
    #: typed, with `plugin.settings_of(settings)`.
    Settings = CoreSettings
else:
    Settings = settings_model(load_plugins())


def resolve_env(value: Any, environ: Mapping[str, str], where: str = "") -> Any:
    """Replace every ``"env:NAME"`` string in a parsed TOML tree by the variable's value."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :]
        if name not in environ:
            raise ConfigError(
                f"{where or 'a setting'} reads environment variable {name}, which is not set"
            )
        return environ[name]
    if isinstance(value, dict):
        return {
            k: resolve_env(v, environ, f"{where}.{k}" if where else k) for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve_env(v, environ, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def find_config(
    path: str | Path | None, environ: Mapping[str, str], cwd: Path | None = None
) -> Path | None:
    """The config file a command uses: `path` (``--config``), else ``$TOUCHHUB_CONFIG``,
    else the first ``touchhub.toml`` in the current directory or one of its parents,
    the way git finds its repository; None when there is none."""
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"config file {file} does not exist (create one with `touchhub init`)"
            )
        return file
    named = environ.get(CONFIG_ENV)
    if named:
        file = Path(named)
        if not file.is_file():
            raise ConfigError(f"{CONFIG_ENV} names {file}, which does not exist")
        return file
    here = (cwd or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def _anchored(url: str, folder: Path) -> str:
    """An SQLite URL whose relative path is taken from `folder` (the config's directory)."""
    file = sqlite_file(url)
    if file is None or file.is_absolute():
        return url
    return make_url(url).set(database=str(folder / file)).render_as_string(hide_password=False)


def load_settings(
    path: str | Path | None = None,
    *,
    db_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Load settings from the config `find_config` picks (defaults if none), then `db_url`.

    A relative SQLite path in a config file is relative to that file's directory, so a
    command run from a subdirectory opens the same store as the hub; one given with
    ``--db`` is relative to the current directory, like any path typed on the line.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    file = find_config(path, environ, cwd)
    where = str(file) if file is not None else "settings"
    if file is not None:
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{file}: {exc.strerror or exc}") from exc
    raw = resolve_env(raw, environ)
    if file is not None:
        store = raw.setdefault("store", {})
        if isinstance(store, dict) and isinstance(store.get("url", DEFAULT_STORE_URL), str):
            store["url"] = _anchored(store.get("url", DEFAULT_STORE_URL), file.absolute().parent)
    if db_url:
        raw.setdefault("store", {})["url"] = db_url
    try:
        settings = Settings.model_validate(raw)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"{where}: {problems}") from exc
    settings.source_path = file
    return settings


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerLink:
    """What ties a web worker to the main process of `serve --workers N`: the secret of the
    main process's internal port (a `SecretStr`: masked in `repr` and logs) and its pid."""

    secret: SecretStr
    parent: int

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a web worker starts with: `base` (this process's) and the link."""
        base = os.environ if base is None else base
        return {
            **base,
            WORKER_SECRET_ENV: self.secret.get_secret_value(),
            WORKER_PARENT_ENV: str(self.parent),
        }


def worker_link(environ: Mapping[str, str] | None = None) -> WorkerLink:
    """The link a web worker was started with (`WorkerLink.environ`); parent 0 when unsaid."""
    environ = os.environ if environ is None else environ
    parent = environ.get(WORKER_PARENT_ENV, "0")
    if not parent.isascii() or not parent.isdigit():
        raise ConfigError(f"{WORKER_PARENT_ENV} is not a process id: {parent!r}")
    return WorkerLink(secret=SecretStr(environ.get(WORKER_SECRET_ENV, "")), parent=int(parent))
