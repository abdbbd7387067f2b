"""What makes one campaign letter answerable: a signed unsubscribe link (in the
RFC 8058 headers and as ``{{ campaign.unsubscribe_url }}``) and a VERP return path.

Built once per worker from `[campaigns]` and `[web] public_url`; without a secret there
are no marks (a test or a hub that has not configured them), and a letter goes without.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.campaigns import unsubscribe, verp
from hub.campaigns.message import Recipient
from hub.campaigns.settings import CampaignSettings
from hub.campaigns.signing import SigningKeys
from hub.model import AddressKind, Channel


@dataclass(frozen=True, slots=True)
class MailMarks:
    """The keys and addresses each recipient's link and return path are made from."""

    keys: SigningKeys
    public_url: str | None
    bounce_address: str | None
    mailto: str | None

    @classmethod
    def of(cls, settings: CampaignSettings, public_url: str | None) -> MailMarks | None:
        """The marks `[campaigns]` configures; None when it has no secret."""
        if settings.secret is None:
            return None
        return cls(
            SigningKeys.of(settings), public_url, settings.bounce_address, settings.unsubscribe_mailto
        )

    def unsubscribe_url(self, recipient: Recipient) -> str | None:
        """The recipient's one-click link; None without a public URL or a contact."""
        if not self.public_url or recipient.contact_id is None:
            return None
        kind = AddressKind.EMAIL if recipient.channel is Channel.EMAIL else AddressKind.PHONE
        token = unsubscribe.issue(
            self.keys,
            campaign_id=recipient.campaign_id,
            recipient_id=recipient.recipient_id,
            contact_id=recipient.contact_id,
            kind=kind,
            address=recipient.address,
        )
        return unsubscribe.unsubscribe_url(self.public_url, token)

    def headers(self, url: str | None) -> dict[str, str]:
        """`List-Unsubscribe` and `List-Unsubscribe-Post` for a letter with this link."""
        return {} if url is None else unsubscribe.list_unsubscribe_headers(url, self.mailto)

    def return_path(self, recipient: Recipient) -> str | None:
        """The VERP envelope sender that names this recipient; None without a bounce address."""
        if self.bounce_address is None or recipient.channel is not Channel.EMAIL:
            return None
        return verp.return_path(
            self.keys,
            self.bounce_address,
            recipient.campaign_id,
            recipient.recipient_id,
            recipient.address,
        )
