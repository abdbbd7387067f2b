"""Provider profiles: shipped ones load, a user's own TOML is enough, answers and callbacks read."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.channels.sms.http_profile import (
    AnswerKind,
    CallbackRefused,
    Verify,
    callback_events,
    load_profile,
    read_answer,
    url_params_signature,
    verify_signature,
)
from hub.errors import ConfigError
from hub.model import Status

VALUES = {"message_id": "ours-1", "to": "+79001234567", "to_digits": "79001234567"}
OWN = """
name = "acme"
[send]
method = "POST"
path = "/v2/messages"
body = "json"
id_path = "data.0.id"
error_code_paths = ["error.code"]
error_text_paths = ["error.title"]
auth_codes = ["UNAUTHORIZED"]
[send.auth]
kind = "bearer"
[send.params]
phone = "{to_plus}"
text = "{text}"
[callbacks]
content = "json"
[callbacks.dlr]
id = "id"
status = "state"
statuses = { done = "delivered", bad = "failed" }
"""


def test_every_shipped_profile_loads() -> None:
    for name in ("smsru", "smscru", "twilio"):
        assert load_profile(name).name == name
    with pytest.raises(ConfigError, match="shipped: smscru, smsru, twilio"):
        load_profile("nosuch")


def test_a_user_profile_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(OWN, encoding="utf-8")
    profile = load_profile(str(path))
    taken = read_answer(profile.send, 200, b'{"data": [{"id": "A-1"}]}', VALUES)
    assert (taken.kind, taken.provider_id) == (AnswerKind.ACCEPTED, "A-1")
    refused = read_answer(profile.send, 422, b'{"error": {"code": "BAD_PHONE", "title": "bad phone"}}', VALUES)
    assert (refused.kind, refused.code, refused.text) == (AnswerKind.REJECTED, "BAD_PHONE", "bad phone")
    auth = read_answer(profile.send, 400, b'{"error": {"code": "UNAUTHORIZED"}}', VALUES)
    assert auth.kind is AnswerKind.AUTH_FAILED
    assert read_answer(profile.send, 503, b"", VALUES).kind is AnswerKind.TEMPORARY
    events = callback_events(profile.callbacks, {}, b'[{"id": "A-1", "state": "done"}, {"id": "A-2", "state": "bad"}]')
    assert [e["state"] for e in events] == ["done", "bad"]
    assert profile.callbacks.dlr is not None and profile.callbacks.dlr.statuses["bad"] is Status.FAILED


def test_a_profile_naming_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(OWN.replace("{text}", "{body}"), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown template field"):
        load_profile(str(path))


def test_url_params_signature_refuses_a_changed_parameter() -> None:
    verify = Verify(kind="hmac_url_params", header="X-Twilio-Signature", secret="password")
    url = "https://hub.example/hooks/sms/t/dlr?id=1"
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    good = url_params_signature(verify, "token", url, form)
    verify_signature(verify, secret="token", url=url, form=form, headers={"X-Twilio-Signature": good}, events=[])
    with pytest.raises(CallbackRefused) as refused:
        verify_signature(
            verify, secret="token", url=url, form={**form, "MessageStatus": "failed"},
            headers={"X-Twilio-Signature": good}, events=[],
        )
    assert not refused.value.unsigned
