"""Answering a dialog: the one road the API, the command line and the Dialogs page take.

The text is checked (`dialog_rules.reply_text`), the chat found in the caller's view
(`DialogRepo.target*`), and the message handed to the account's sender (keyed like the
touch source, ``telegram:support``). The sender records the outgoing touch itself before
it sends; it names the employee behind the reply in its metadata, so the reply is theirs
in the KPI ("outgoing messages in Dialogs") and closes the dialog's reply task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.activity.dialog_rules import DialogScope, reply_text
from hub.activity.repos.dialogs import DialogRepo, ReplyTarget
from hub.activity.resolve import SENT_BY_KEY
from hub.errors import ChannelError, ConfigError
from hub.model import Address, Channel, OutgoingMessage, Sender, SendResult


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A reply as sent: where it went and what the platform answered."""

    target: ReplyTarget
    result: SendResult
    dialog_id: int | None


def accounts_of(senders: Mapping[str, Sender], platform: str) -> list[str]:
    """The accounts of a platform that can send (``telegram:support`` → ``support``)."""
    prefix = f"{platform}:"
    return sorted(key[len(prefix) :] for key in senders if key.startswith(prefix))


def sender_for(senders: Mapping[str, Sender], source: str) -> Sender:
    """The sender of an account; `ConfigError` (503) when it is not configured."""
    sender = senders.get(source)
    if sender is None:
        raise ConfigError(f"no sender is configured for {source}; replies there cannot be sent")
    return sender


async def send(
    repo: DialogRepo,
    senders: Mapping[str, Sender],
    scope: DialogScope,
    target: ReplyTarget,
    text: str,
) -> Reply:
    """Send `text` to `target` as the caller (`scope.me`); `ChannelError` when refused."""
    body = reply_text(text)
    sender = sender_for(senders, target.source)
    metadata = {SENT_BY_KEY: scope.me} if scope.me is not None else {}
    message = OutgoingMessage(
        channel=Channel.MESSENGER,
        to=(Address(kind=target.kind, value=target.chat),),
        body=body,
        metadata=metadata,
    )
    result = await sender.send(message)
    if not result.ok:
        raise ChannelError(
            f"{target.source} did not take the message: {result.reason or result.outcome.value}",
            channel=target.source,
            external_id=result.external_id,
        )
    dialog_id = target.dialog_id
    if dialog_id is None:
        dialog_id = await repo.dialog_of(target.source, target.chat)
    return Reply(target=target, result=result, dialog_id=dialog_id)
