"""Which of our messages an SMPP delivery receipt is about, sans-IO (decision 0019).

The sender tells the matcher how many parts a message has (`expect`) and, as each
submit_sm_resp arrives, the SMSC's id of each part (`sent`). A receipt names the SMSC id
(hex or decimal, whichever the SMSC likes); `receipt` finds our message by every spelling
of it (`restore` makes a message sent before a restart known again, from the store). A
receipt whose id is not known yet — it overtook the submit_sm_resp — is held and
applied by the `sent` that makes its id known; one held longer than `hold_s` is handed back
by `expire` for the caller to keep (never silently dropped).

A message is delivered when every part is; one failed part fails it. The matcher forgets a
message once it is final, and the oldest ones beyond `max_known`.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass, field

from hub.channels.sms.delivery_receipt import id_forms
from hub.channels.sms.smpp_incoming import SmppReceipt
from hub.model import Status

#: Seconds a receipt may wait for the submit_sm_resp naming its id.
HOLD_S = 600.0
#: Receipts held at once; the oldest is handed back beyond this.
MAX_HELD = 10_000
#: Messages whose parts' ids are remembered (a receipt can come days later).
MAX_KNOWN = 500_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """What a receipt (or several) means for one of our messages."""

    message_id: str
    status: Status
    detail: str


@dataclass(slots=True)
class _Message:
    parts: int
    ids: dict[str, Status | None] = field(default_factory=dict)  # SMSC id → its part's state
    final: bool = False


def _detail(receipt: SmppReceipt) -> str:
    parsed = receipt.receipt
    words = [f"id:{receipt.message_id}"]
    if parsed is not None:
        words += [f"stat:{parsed.stat}", f"err:{parsed.err}"] if parsed.err else [f"stat:{parsed.stat}"]
    if receipt.state is not None:
        words.append(f"state:{receipt.state}")
    return " ".join(words)


class ReceiptMatcher:
    """SMSC ids of the parts we sent → our message ids, and receipts waiting for their id."""

    def __init__(
        self,
        *,
        hold_s: float = HOLD_S,
        max_held: int = MAX_HELD,
        max_known: int = MAX_KNOWN,
        spellings: bool = True,
    ) -> None:
        #: match hex ↔ decimal spellings too (SMPP); False = ids match only as given
        self.spellings = spellings
        self.hold_s = hold_s
        self.max_held = max_held
        self.max_known = max_known
        self._messages: OrderedDict[str, _Message] = OrderedDict()
        self._exact: dict[str, tuple[str, str]] = {}  # SMSC id → (our id, SMSC id)
        self._by_form: dict[str, tuple[str, str]] = {}  # other spellings → (our id, SMSC id)
        self._held: dict[int, tuple[SmppReceipt, float]] = {}
        self._held_by_form: dict[str, int] = {}
        self._tokens = itertools.count()
        self._overflow: list[SmppReceipt] = []

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def known(self) -> int:
        return len(self._messages)

    def expect(self, message_id: str, parts: int) -> None:
        """Our message `message_id` goes out in `parts` parts."""
        self._messages[message_id] = _Message(parts=parts)
        self._messages.move_to_end(message_id)
        while len(self._messages) > self.max_known:
            old_id, old = self._messages.popitem(last=False)
            self._forget(old_id, old)

    def knows(self, smsc_id: str) -> bool:
        """True when `smsc_id` (in any spelling) names a message this matcher remembers."""
        return smsc_id in self._exact or any(f in self._by_form for f in self._forms(smsc_id))

    def restore(self, message_id: str, parts: int, smsc_id: str) -> list[Resolved]:
        """A message found elsewhere (the store, after a restart) by `smsc_id`: known again,
        with what receipts held for it mean."""
        if message_id not in self._messages:
            self.expect(message_id, parts)
        return self.sent(message_id, smsc_id)

    def sent(self, message_id: str, smsc_id: str) -> list[Resolved]:
        """The SMSC took a part of `message_id` as `smsc_id`; applies receipts held for it."""
        message = self._messages.get(message_id)
        if message is None:
            return []
        message.ids.setdefault(smsc_id, None)
        entry = self._exact[smsc_id] = (message_id, smsc_id)
        forms = self._forms(smsc_id)
        for form in forms:
            self._by_form.setdefault(form, entry)
        out: list[Resolved] = []
        if not self._held:  # the usual case: no receipt overtook its submit_sm_resp
            return out
        for form in forms | {smsc_id}:
            token = self._held_by_form.get(form)
            if token is not None and token in self._held:
                receipt, _ = self._unhold(token)
                out.extend(self.receipt(receipt, 0.0))
        return out

    def receipt(self, receipt: SmppReceipt, now: float) -> list[Resolved]:
        """What `receipt` means for our message; none (held) while its id is unknown."""
        found = self._exact.get(receipt.message_id) or next(
            (self._by_form[f] for f in self._forms(receipt.message_id) if f in self._by_form), None
        )
        if found is None:
            self._hold(receipt, now)
            return []
        message_id, smsc_id = found
        message = self._messages.get(message_id)
        if message is None or message.final:
            return []  # already final: a repeated receipt changes nothing
        message.ids[smsc_id] = receipt.status
        detail = _detail(receipt)
        if receipt.status is Status.FAILED:
            return [self._final(message_id, message, Status.FAILED, detail)]
        states = list(message.ids.values())
        if (
            len(message.ids) >= message.parts
            and all(s is Status.DELIVERED for s in states)
        ):
            return [self._final(message_id, message, Status.DELIVERED, detail)]
        if receipt.status is Status.SENT:
            return [Resolved(message_id=message_id, status=Status.SENT, detail=detail)]
        return []  # one part delivered, others not yet

    def expire(self, now: float) -> list[SmppReceipt]:
        """Receipts held longer than `hold_s`, or pushed out by `max_held` newer ones."""
        stale = [t for t, (_, at) in self._held.items() if now - at >= self.hold_s]
        out, self._overflow = self._overflow, []
        return out + [self._unhold(t)[0] for t in stale]

    def _final(self, message_id: str, message: _Message, status: Status, detail: str) -> Resolved:
        message.final = True
        return Resolved(message_id=message_id, status=status, detail=detail)

    def _forms(self, smsc_id: str) -> frozenset[str]:
        return id_forms(smsc_id) if self.spellings else frozenset()

    def _forget(self, message_id: str, message: _Message) -> None:
        for smsc_id in message.ids:
            if self._exact.get(smsc_id, ("", ""))[0] == message_id:
                del self._exact[smsc_id]
            for form in self._forms(smsc_id):
                if self._by_form.get(form, ("", ""))[0] == message_id:
                    del self._by_form[form]

    def _hold(self, receipt: SmppReceipt, now: float) -> None:
        if len(self._held) >= self.max_held:
            oldest = min(self._held, key=lambda t: self._held[t][1])
            self._overflow.append(self._unhold(oldest)[0])
        token = next(self._tokens)
        self._held[token] = (receipt, now)
        for form in self._forms(receipt.message_id) | {receipt.message_id}:
            self._held_by_form[form] = token

    def _unhold(self, token: int) -> tuple[SmppReceipt, float]:
        receipt, at = self._held.pop(token)
        for form in self._forms(receipt.message_id) | {receipt.message_id}:
            if self._held_by_form.get(form) == token:
                del self._held_by_form[form]
        return receipt, at
