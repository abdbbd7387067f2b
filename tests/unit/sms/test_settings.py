"""`[sms]` as written in TOML: gateways, secrets from the environment, masked URLs, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.channels.sms.factory import smpp_settings
from hub.channels.sms.plugin import PLUGIN as SMS
from hub.channels.sms.settings import DEFAULT_OPT_OUT_WORDS, GatewayKind
from hub.channels.sms.smpp_submit import LongMessages
from hub.config import load_settings
from hub.errors import ConfigError

TOKEN = "dlr-token-0123456789"
GOOD = f"""
[sms]
default_gateway = "main"
public_url = "http://hub.example:8080/"
[sms.gateways.main]
kind = "kannel"
url = "kannel://tester@127.0.0.1:13013"
password = "env:KANNEL_PW"
sender = "1234"
dlr_secret = "{TOKEN}"
rate = 5
[sms.gateways.operator]
kind = "smpp"
url = "smpp://hub@10.0.0.5:2775"
password = "secret"
sender = "ACME"
"""


def test_gateways_are_read_typed_with_secrets_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(GOOD, encoding="utf-8")
    sms = SMS.settings_of(load_settings(config, environ={"KANNEL_PW": "kpw"}))
    main = sms.gateways["main"]
    assert main.kind is GatewayKind.KANNEL and main.rate == 5
    assert main.password is not None and main.password.get_secret_value() == "kpw"
    assert sms.gateways["operator"].kind is GatewayKind.SMPP
    assert sms.public_url == "http://hub.example:8080"
    assert sms.opt_out_words == list(DEFAULT_OPT_OUT_WORDS)
    assert sms.gateway_name(None) == "main"
    assert "kpw" not in repr(sms)


def test_an_absent_section_configures_nothing(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text("", encoding="utf-8")
    sms = SMS.settings_of(load_settings(config))
    assert sms.gateways == {} and SMS.senders(load_settings(config), None) == {}


def test_a_password_in_the_url_is_masked_when_printed() -> None:
    gateway = SMS.settings_model.model_validate(
        {"gateways": {"g": {"kind": "kannel", "url": "kannel://u:pw@h:1", "sender": "1"}}}
    ).gateways["g"]
    assert gateway.masked_url == "kannel://u:***@h:1"


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ('[sms.gateways.g]\nkind = "kannel"\nurl = "smpp://u@h:1"\nsender = "1"', "kannel://USER@HOST"),
        ('[sms.gateways.g]\nkind = "kannel"\nurl = "kannel://u@h"\nsender = "1"', "needs a port"),
        ('[sms.gateways.g]\nkind = "fax"\nurl = "kannel://u@h:1"\nsender = "1"', "sms.gateways.g.kind"),
        ('[sms.gateways.g]\nkind = "kannel"\nurl = "kannel://u@h:1"\nsender = "1"\nrate = 0', "rate"),
        (
            '[sms.gateways.g]\nkind = "kannel"\nurl = "kannel://u@h:1"\nsender = "1"\n'
            'dlr_secret = "short%d"',
            "dlr_secret",
        ),
        ('[sms]\ndefault_gateway = "nope"', "default_gateway 'nope' is not configured"),
        ('[sms]\npublic_url = "ftp://x"', "public_url"),
        ('[sms]\nsurprise = 1', "surprise"),
        (
            '[sms.gateways.g]\nkind = "smpp"\nurl = "smpp://u@h:1"\nsender = "1"\nlong_messages = "sms"',
            "long_messages",
        ),
        ('[sms.gateways.g]\nkind = "kannel"\nurl = "kannel://u@h:1"\nsender = "1"\ntls = true', "kind smpp"),
        ('[sms.gateways.g]\nkind = "kannel"\nurl = "smpps://u@h:1"\nsender = "1"', "kannel://USER@HOST"),
    ],
)
def test_wrong_settings_are_refused_naming_the_key(tmp_path: Path, section: str, words: str) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(section, encoding="utf-8")
    with pytest.raises(ConfigError, match=words):
        load_settings(config)


def test_building_a_sender_names_what_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        '[sms.gateways.g]\nkind = "kannel"\nurl = "kannel://u@h:1"\nsender = "1"\n'
        '[sms.gateways.s]\nkind = "smpp"\nurl = "smpp://u@h:1"\nsender = "1"\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    with pytest.raises(ConfigError, match=r"sms\.gateways\.g\.password is not set"):
        SMS.sender(settings, "g", None)
    with pytest.raises(ConfigError, match=r"sms\.gateways\.s\.password is not set"):
        SMS.sender(settings, "s", None)
    with pytest.raises(ConfigError, match=r"no \[sms\.gateways\.x\]"):
        SMS.sender(settings, "x", None)


@pytest.mark.parametrize(
    ("lines", "tls", "verify", "ca_file"),
    [
        ('url = "smpp://hub@h:2775"', False, True, None),
        ('url = "smpps://hub@h:3550"', True, True, None),
        ('url = "smpp://hub@h:3550"\ntls = true\ntls_ca_file = "/etc/smsc-ca.pem"', True, True, "/etc/smsc-ca.pem"),
        ('url = "smpps://hub@h:3550"\ntls_verify = false', True, False, None),
    ],
)
def test_smpp_tls_from_the_url_scheme_or_the_option(
    tmp_path: Path, lines: str, tls: bool, verify: bool, ca_file: str | None
) -> None:
    config = tmp_path / "touchhub.toml"
    config.write_text(
        f'[sms.gateways.s]\nkind = "smpp"\n{lines}\npassword = "pw"\nsender = "1"\nlong_messages = "sar"\n',
        encoding="utf-8",
    )
    sms = SMS.settings_of(load_settings(config))
    client = smpp_settings("s", sms.gateways["s"], sms)
    assert (client.tls is not None) is tls
    if client.tls is not None:
        assert (client.tls.verify, client.tls.ca_file) == (verify, ca_file)
    assert sms.gateways["s"].long_messages is LongMessages.SAR
