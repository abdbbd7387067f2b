"""The seam where one recipient's rendered text becomes the message handed to a sender.

`message_for` is the one place per-recipient headers and the return path are added
(unsubscribe links, a VERP envelope sender); the engine calls nothing else to build a
message, so those features plug in here without touching the sending loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.model import Address, AddressKind, Channel, OutgoingMessage
from hub.templates import Rendered, RenderedEmail


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """Who one campaign message goes to, and the ids that tie it to the campaign."""

    campaign_id: int
    recipient_id: int
    contact_id: int | None
    channel: Channel
    address: str
    message_id: str


def message_for(recipient: Recipient, rendered: Rendered) -> OutgoingMessage:
    """The message for one recipient: its text, our Message-ID, the campaign marks."""
    metadata = {"campaign_id": recipient.campaign_id, "campaign_recipient_id": recipient.recipient_id}
    if isinstance(rendered, RenderedEmail):
        return OutgoingMessage(
            channel=Channel.EMAIL,
            to=(Address(kind=AddressKind.EMAIL, value=recipient.address),),
            subject=rendered.subject,
            body=rendered.text,
            html=rendered.html,
            message_id=recipient.message_id,
            metadata=metadata,
        )
    return OutgoingMessage(
        channel=Channel.SMS,
        to=(Address(kind=AddressKind.PHONE, value=recipient.address),),
        body=rendered.text,
        message_id=recipient.message_id,
        metadata=metadata,
    )
