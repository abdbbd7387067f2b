"""The bounce mailbox on a real Dovecot: DSNs of every form found, recorded once, suppressed."""

from __future__ import annotations

from pydantic import SecretStr

from hub.activity import ActivityStore
from hub.activity.repos import BounceKind
from hub.campaigns import verp
from hub.campaigns.settings import CampaignSettings
from hub.campaigns.signing import SigningKeys
from hub.channels.email.settings import AccountSettings, EmailSettings
from hub.config import Settings
from hub.model import Address, AddressKind, Channel
from hub.runtime import bounce_mailbox
from tests.helpers import dsn_samples as samples
from tests.helpers.dovecot import DEFAULT_USERS, Dovecot

SECRET = "s" * 40
BASE = "bounces@acme.ru"


def _settings(dovecot: Dovecot) -> Settings:
    campaigns = CampaignSettings(
        secret=SecretStr(SECRET), bounce_address=BASE, bounce_mailbox="bounces/INBOX"
    )
    email = EmailSettings(
        accounts={
            "bounces": AccountSettings(
                imap=dovecot.url("ivan"), password=SecretStr(DEFAULT_USERS["ivan"])
            )
        }
    )
    return Settings(campaigns=campaigns, email=email)


async def test_bounce_mailbox_records_each_dsn_once(store: ActivityStore, dovecot: Dovecot) -> None:
    settings = _settings(dovecot)
    keys = SigningKeys.of(settings.campaigns)
    people = {
        1: "anna@client.ru",
        2: "boris@client.org",
        3: "vera@client.net",
        4: "gleb@gmail.com",
        5: "dina@client.ru",
        6: "egor@client.org",
    }
    for rid, address in people.items():
        await store.contacts.create(
            f"R{rid}", addresses=[Address(kind=AddressKind.EMAIL, value=address)]
        )

    def path(rid: int) -> str:
        return verp.return_path(keys, BASE, 9, rid, people[rid])

    def mid(rid: int) -> str:
        return verp.message_id(keys, 9, rid, people[rid], "acme.ru")

    letters = [
        samples.postfix(people[1], path(1), mid(1)),
        samples.exim(people[2], path(2), mid(2)),
        samples.qmail(people[3], path(3), mid(3)),
        samples.gmail(people[4], path(4), mid(4)),
        samples.postfix_delayed(people[5], path(5), mid(5)),
        samples.exim_plain("someone.else@client.org", path(6), mid(6)),  # forged: not egor
        samples.not_a_bounce(path(1)),
    ]
    dovecot.append("ivan", letters)
    reader = bounce_mailbox(settings, store)
    first = await reader.sync_once()
    assert (first.letters, first.bounces, first.recorded) == (7, 6, 5)

    bounced = {b.recipient_id: b.kind for b in await store.campaign_bounces.of_campaign(9)}
    assert bounced == {
        1: BounceKind.HARD,
        2: BounceKind.HARD,
        3: BounceKind.HARD,
        4: BounceKind.HARD,
        5: BounceKind.SOFT,
    }
    suppressed = await store.suppressions.suppressed(Channel.EMAIL, people.values())
    assert suppressed == {people[1], people[2], people[3], people[4]}
    assert await store.campaign_bounces.counts(9) == {"hard": 4, "soft": 1}

    # nothing new: nothing read; the same DSN arriving again records nothing
    assert (await reader.sync_once()).letters == 0
    dovecot.append("ivan", [samples.exim(people[2], path(2), mid(2))])
    again = await reader.sync_once()
    assert (again.letters, again.recorded) == (1, 0)
    assert len(await store.campaign_bounces.of_campaign(9)) == 5
    _found, total = await store.suppressions.search(campaign_id=9)
    assert total == 4
