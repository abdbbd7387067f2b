"""The channel registry: one list, loaded strictly; settings sections built from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.channels.plugin import ChannelPlugin
from hub.channels.registry import CHANNELS, load_plugins
from hub.config import CoreSettings, Settings, load_settings, settings_model
from hub.errors import ConfigError
from tests.helpers.fake_channel import PLUGIN as FAKE
from tests.helpers.fake_channel import FakeSettings

ROOT = Path(__file__).resolve().parents[3]
FAKE_ENTRY = ("fake", "tests.helpers.fake_channel:PLUGIN")


def test_registry_loads_every_channel_in_order() -> None:
    plugins = load_plugins()
    assert [p.name for p in plugins] == [name for name, _ in CHANNELS]
    assert load_plugins() is plugins  # loaded once


def test_a_channel_whose_module_is_missing_is_an_error_naming_both() -> None:
    entries = (FAKE_ENTRY, ("sms", "hub.channels.sms_not_written.plugin:PLUGIN"))
    with pytest.raises(ConfigError) as caught:
        load_plugins(entries)
    message = str(caught.value)
    assert "'sms'" in message and "'hub.channels.sms_not_written'" in message
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (("fake", "tests.helpers.fake_channel:FakeSettings"), "is not a ChannelPlugin"),
        (("fake", "tests.helpers.fake_channel:no_such_name"), "is not a ChannelPlugin"),
        (("sms", "tests.helpers.fake_channel:PLUGIN"), "calls itself 'fake'"),
    ],
)
def test_an_entry_must_point_at_the_plugin_it_names(entry: tuple[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_plugins((entry,))


def test_two_channels_cannot_share_a_name() -> None:
    with pytest.raises(ConfigError, match="share the name fake"):
        load_plugins((FAKE_ENTRY, FAKE_ENTRY))


def test_settings_get_one_typed_section_per_channel() -> None:
    model = settings_model((*load_plugins(), FAKE))
    assert set(model.model_fields) == set(CoreSettings.model_fields) | {
        "telephony",
        "email",
        "sms",
        "messengers",
        "fake",
    }
    settings = model.model_validate({"fake": {"gateways": ["a"]}})
    assert FAKE.settings_of(settings) == FakeSettings(gateways=["a"])
    assert FAKE.settings_of(model()) == FakeSettings()  # absent section: the model's defaults
    with pytest.raises(ValidationError):
        model.model_validate({"fake": {"gateway": ["a"]}})  # a channel's section forbids extras
    with pytest.raises(ValidationError):
        model.model_validate({"fax": {}})  # an unregistered section is refused


def test_a_section_cannot_shadow_a_core_one() -> None:
    clash = ChannelPlugin(
        name="store-channel",
        section="store",
        settings_model=FakeSettings,
        build_adapters=FAKE.build_adapters,
    )
    with pytest.raises(ConfigError, match="clash with core settings"):
        settings_model((clash,))


def test_settings_of_refuses_a_tree_without_the_section() -> None:
    with pytest.raises(ConfigError, match=r"no \[fake\] section"):
        FAKE.settings_of(Settings())


def test_telephony_and_email_keep_their_toml_shape(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        "[telephony]\ncallback_due_minutes = 15\n"
        '[telephony.pbx.office]\nami = "ami://hub@127.0.0.1:5038"\npassword = "env:AMI"\n'
        '[email]\ncompany_domains = ["acme.ru"]\n'
        '[email.accounts.sales]\nimap = "imaps://sales@127.0.0.1:993"\n'
        'smtp = "smtp+starttls://sales@127.0.0.1:587"\naddresses = ["sales@acme.ru"]\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={"AMI": "s3cret"})
    telephony, email = (p.settings_of(settings) for p in load_plugins()[:2])
    assert telephony.callback_due_minutes == 15
    assert telephony.pbx["office"].password.get_secret_value() == "s3cret"
    assert email.company_domains == ["acme.ru"] and list(email.accounts) == ["sales"]
    config.write_text("[telephony]\npbxs = {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"telephony\.pbxs"):
        load_settings(config)


CORE_MODULES = (
    "hub/runtime.py",
    "hub/config.py",
    "hub/web/app.py",
    "hub/web/keys.py",
    "hub/web/api_calls.py",
    "hub/cli/serve_cmd.py",
)
CHANNEL_PACKAGES = ("hub.telephony", "hub.channels.email")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_modules_name_no_channel(module: str) -> None:
    imported = _imported(ROOT / module)
    named = sorted(
        n for n in imported for pkg in CHANNEL_PACKAGES if n == pkg or n.startswith(f"{pkg}.")
    )
    assert named == []
    source = (ROOT / module).read_text(encoding="utf-8")
    assert "AmiAdapter" not in source and 'importlib.import_module("hub.tele' not in source
