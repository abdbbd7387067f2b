"""The one typed settings tree, loaded once from `touchhub.toml` and passed down.

Any string in the file may be written as ``"env:VARIABLE"``; it is read from the
environment here and nowhere else. Secrets are `SecretStr`, so they never print.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, create_model
from pydantic import ValidationError as PydanticValidationError

from hub.channels.plugin import ChannelPlugin
from hub.channels.registry import load_plugins
from hub.errors import ConfigError
from kpi.settings import KpiSettings

DEFAULT_CONFIG_FILE = "touchhub.toml"
DEFAULT_STORE_URL = "sqlite:///data/touchhub.db"
ENV_PREFIX = "env:"


class StoreSettings(BaseModel):
    """Where activities live and how writes are batched."""

    model_config = ConfigDict(extra="forbid")

    url: SecretStr = SecretStr(DEFAULT_STORE_URL)
    batch_size: int = Field(default=5000, ge=1)
    batch_window_ms: int = Field(default=50, ge=1)
    queue_size: int = Field(default=10_000, ge=1)
    default_region: str = "RU"
    unknown_counterparty: Literal["lead", "unlinked"] = "lead"


class WebSettings(BaseModel):
    """The aiohttp app: REST API and dashboard."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1_048_576
    public_url: str | None = None


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


class CoreSettings(BaseModel):
    """Everything touchhub can be told that is not a channel's own section."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    supervisor: SupervisorSettings = Field(default_factory=SupervisorSettings)
    kpi: KpiSettings = Field(default_factory=KpiSettings)
    demo_on_empty: bool = True
    source_path: Path | None = Field(default=None, exclude=True)

    @property
    def store_url(self) -> str:
        return self.store.url.get_secret_value()


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


def load_settings(
    path: str | Path | None = None,
    *,
    db_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings from `path` (or `touchhub.toml` if it exists), then apply `db_url`."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG_FILE)
    if path is not None and not file.exists():
        raise ConfigError(f"config file {file} does not exist (create one with `touchhub init`)")
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: {exc}") from exc
    raw = resolve_env(raw, environ)
    if db_url:
        raw.setdefault("store", {})["url"] = db_url
    try:
        settings = Settings.model_validate(raw)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{file}: {problems}") from exc
    settings.source_path = file if file.exists() else None
    return settings
