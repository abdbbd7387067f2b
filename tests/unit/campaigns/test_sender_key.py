"""A campaign's sender must be configured for its channel; the refusal says what to do, in
the user's language, also when nothing is configured yet."""

from __future__ import annotations

import pytest

from hub.campaigns.manager import sender_key
from hub.errors import UnknownReference
from hub.i18n.api_errors import said_in


def test_a_short_sender_name_is_the_channels() -> None:
    assert sender_key("email", "sales", {"email:sales", "sms:main"}) == "email:sales"
    assert sender_key("sms", "sms:main", {"email:sales", "sms:main"}) == "sms:main"


def test_an_unknown_sender_names_the_configured_ones() -> None:
    with pytest.raises(UnknownReference) as caught:
        sender_key("email", "support", {"email:sales", "email:info", "sms:main"})
    assert "configured: email:info, email:sales" in str(caught.value)
    said = said_in("ru", str(caught.value))
    assert said.startswith("отправитель «email:support» для канала «Письмо» не настроен")
    assert "email:info, email:sales" in said


@pytest.mark.parametrize(("channel", "section"), [("email", "email.accounts"), ("sms", "sms.gateways")])
def test_with_no_sender_at_all_the_refusal_says_which_section_to_add(channel: str, section: str) -> None:
    with pytest.raises(UnknownReference) as caught:
        sender_key(channel, "sales", {"sms:main"} if channel == "email" else set())
    message = str(caught.value)
    assert f"add [{section}.NAME] to the config" in message and "none" not in message
    said = said_in("ru", message)
    assert f"добавьте в конфигурацию раздел [{section}.ИМЯ]" in said
    assert "none" not in said and "configured" not in said
