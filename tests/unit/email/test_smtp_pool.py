"""The SMTP sender's connection pool, with a fake aiosmtplib client: hand-off, bounds, errors.

The protocol itself (2xx/4xx/5xx, TLS, AUTH) is tested against a real aiosmtpd in
`tests/integration/email/test_smtp_sender.py`; here only the pool's scheduling.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import aiosmtplib
import pytest

from hub.channels.email.meaning import Mailbox
from hub.channels.email.server_url import ServerUrl
from hub.channels.email.smtp_sender import SmtpSender
from hub.errors import ChannelAuthError
from hub.model import Address, AddressKind, Channel, OutgoingMessage, SendOutcome
from tests.helpers.email_sink import EmailSink

pytestmark = pytest.mark.timeout(30)

STEP_S = 5.0


class FakeClient:
    """Stands for `aiosmtplib.SMTP`: each `sendmail` takes a few loop turns, like round trips."""

    def __init__(self, pool: FakePool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.is_connected = True
        self.quit_called = False

    async def sendmail(
        self, sender: str, recipients: list[str], message: bytes
    ) -> tuple[dict[str, Any], str]:
        subject = next(
            line for line in message.decode().splitlines() if line.startswith("Subject: ")
        )[len("Subject: ") :]
        self.pool.events.append(f"start {subject}")
        self.pool.started[subject].set()
        self.pool.in_flight += 1
        self.pool.most_in_flight = max(self.pool.most_in_flight, self.pool.in_flight)
        try:
            if subject in self.pool.blockers:
                await self.pool.blockers[subject].wait()
            for _ in range(3):
                await asyncio.sleep(0)
            error = self.pool.errors.pop(subject, None)
            if error is not None:
                if isinstance(error, aiosmtplib.SMTPServerDisconnected):
                    self.is_connected = False
                raise error
            self.pool.sent.append((self.number, subject))
            return {}, "250 OK"
        finally:
            self.pool.in_flight -= 1

    def close(self) -> None:
        self.is_connected = False

    async def quit(self) -> None:
        self.quit_called = True
        self.is_connected = False


class FakePool:
    """What the fake server saw, and what to do to which letter (by subject)."""

    def __init__(self) -> None:
        self.clients: list[FakeClient] = []
        self.events: list[str] = []
        self.sent: list[tuple[int, str]] = []
        self.blockers: dict[str, asyncio.Event] = {}
        self.started: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.errors: dict[str, BaseException] = {}
        self.connect_error: BaseException | None = None
        self.in_flight = 0
        self.most_in_flight = 0

    async def connect(self) -> FakeClient:
        await asyncio.sleep(0)
        if self.connect_error is not None:
            raise self.connect_error
        client = FakeClient(self, len(self.clients))
        self.clients.append(client)
        return client


class RecordingSink(EmailSink):
    """Records, in the pool's event list, when a caller got its result back."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    async def put(self, item: Any) -> None:
        self.events.append(f"touch {item.subject}")
        await super().put(item)


def make_sender(pool: FakePool, *, pool_size: int, sink: EmailSink | None = None) -> SmtpSender:
    sender = SmtpSender(
        account="ivan",
        url=ServerUrl.parse("smtp://127.0.0.1:2525", protocol="smtp", where="test"),
        password=None,
        mailbox=Mailbox.of("ivan", ["ivan@acme.ru"], ["acme.ru"]),
        from_address="ivan@acme.ru",
        pool_size=pool_size,
        timeout=5.0,
        max_attempts=3,
        retry_base_s=0.01,
        sink=sink,
    )
    sender._connect = pool.connect  # type: ignore[assignment, method-assign]
    return sender


def letter(subject: str, to: str = "client@example.com") -> OutgoingMessage:
    return OutgoingMessage(
        channel=Channel.EMAIL,
        to=(Address(kind=AddressKind.EMAIL, value=to),),
        subject=subject,
        body="Hello",
    )


async def test_the_next_letter_starts_before_the_previous_caller_resumes() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=1, sink=RecordingSink(pool.events))
    results = await asyncio.wait_for(
        asyncio.gather(*(sender.send(letter(f"n{i}")) for i in range(3))), STEP_S
    )
    await sender.close()
    assert all(r.ok for r in results)
    # the connection goes on to the next letter before the caller builds and records its touch
    assert pool.events.index("start n1") < pool.events.index("touch n0")
    assert pool.events.index("start n2") < pool.events.index("touch n1")
    assert len(pool.clients) == 1


async def test_never_more_connections_than_the_pool_and_all_reused() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=3)
    results = await asyncio.wait_for(
        asyncio.gather(*(sender.send(letter(f"n{i}")) for i in range(40))), STEP_S
    )
    assert all(r.ok and r.attempts == 1 for r in results)
    assert len(pool.clients) == 3 and pool.most_in_flight == 3
    assert sorted(s for _, s in pool.sent) == sorted(f"n{i}" for i in range(40))
    assert len(sender._idle) == 3
    await sender.close()
    assert all(c.quit_called for c in pool.clients) and not sender._idle


async def test_letters_one_after_another_share_one_connection() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=1)
    for i in range(3):
        result = await asyncio.wait_for(sender.send(letter(f"n{i}")), STEP_S)
        assert result.ok
    await sender.close()
    assert [n for n, _ in pool.sent] == [0, 0, 0]


async def test_a_stale_pooled_connection_is_replaced_at_once() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=1)
    assert (await asyncio.wait_for(sender.send(letter("first")), STEP_S)).ok
    pool.errors["second"] = aiosmtplib.SMTPServerDisconnected("idle timeout")
    result = await asyncio.wait_for(sender.send(letter("second")), STEP_S)
    await sender.close()
    assert result.ok and result.attempts == 1
    assert pool.sent == [(0, "first"), (1, "second")]


async def test_a_broken_fresh_connection_is_a_temporary_failure_retried() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=1)
    pool.errors["only"] = aiosmtplib.SMTPServerDisconnected("gone")
    result = await asyncio.wait_for(sender.send(letter("only")), STEP_S)
    await sender.close()
    assert result.ok and result.attempts == 2
    assert pool.sent == [(1, "only")]


async def test_a_refused_letter_keeps_its_connection_for_the_next() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=1)
    pool.errors["bad"] = aiosmtplib.SMTPDataError(554, "5.7.1 rejected")
    bad, good = await asyncio.wait_for(
        asyncio.gather(sender.send(letter("bad")), sender.send(letter("good"))), STEP_S
    )
    await sender.close()
    assert bad.outcome is SendOutcome.PERMANENT_FAILURE and bad.code == 554
    assert good.ok and pool.sent == [(0, "good")] and len(pool.clients) == 1


async def test_an_unexpected_error_reaches_its_caller_and_the_pool_goes_on() -> None:
    pool = FakePool()
    sender = make_sender(pool, pool_size=1)
    pool.errors["odd"] = ValueError("address not safe to send")
    odd, good = await asyncio.wait_for(
        asyncio.gather(
            sender.send(letter("odd")), sender.send(letter("good")), return_exceptions=True
        ),
        STEP_S,
    )
    await sender.close()
    assert isinstance(odd, ValueError)
    assert not isinstance(good, BaseException) and good.ok


async def test_a_refused_login_is_an_auth_error_for_every_letter_waiting() -> None:
    pool = FakePool()
    pool.connect_error = ChannelAuthError("SMTP login refused", channel="email")
    sender = make_sender(pool, pool_size=2)
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(sender.send(letter(f"n{i}")) for i in range(4)), return_exceptions=True),
        STEP_S,
    )
    await sender.close()
    assert all(isinstance(o, ChannelAuthError) for o in outcomes)
    assert sender._running == 0 and not sender._jobs


async def test_a_letter_given_up_while_queued_is_not_sent() -> None:
    pool = FakePool()
    pool.blockers["first"] = asyncio.Event()
    sender = make_sender(pool, pool_size=1)
    first = asyncio.create_task(sender.send(letter("first")))
    dropped = asyncio.create_task(sender.send(letter("dropped")))
    await asyncio.wait_for(pool.started["first"].wait(), STEP_S)
    dropped.cancel()
    pool.blockers["first"].set()
    assert (await asyncio.wait_for(first, STEP_S)).ok
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert (await asyncio.wait_for(sender.send(letter("after")), STEP_S)).ok
    await sender.close()
    assert [s for _, s in pool.sent] == ["first", "after"]


async def test_close_lets_letters_in_flight_finish_then_quits() -> None:
    pool = FakePool()
    pool.blockers["slow"] = asyncio.Event()
    sender = make_sender(pool, pool_size=1)
    slow = asyncio.create_task(sender.send(letter("slow")))
    await asyncio.wait_for(pool.started["slow"].wait(), STEP_S)
    closing = asyncio.create_task(sender.close())
    await asyncio.sleep(0)
    assert not closing.done()
    pool.blockers["slow"].set()
    await asyncio.wait_for(closing, STEP_S)
    assert (await slow).ok
    assert pool.clients[0].quit_called and not sender._idle and not sender._workers
