"""Telegram's sending limits as token buckets: about one message a second per chat, 30 a
second for the whole bot (https://core.telegram.org/bots/faq#broadcasting-to-users)."""

from __future__ import annotations

from hub.channels.sms.token_bucket import TokenBucket

#: Idle chats whose buckets are dropped once this many are kept.
MAX_CHAT_BUCKETS = 10_000


class SendLimits:
    """Waits in `acquire(chat)` until both the chat's bucket and the bot's allow a message."""

    def __init__(
        self, *, per_chat_rate: float, per_chat_burst: int, global_rate: float, global_burst: int
    ) -> None:
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.overall = TokenBucket(global_rate, global_burst)
        self._chats: dict[str, TokenBucket] = {}

    def _chat(self, chat: str) -> TokenBucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) >= MAX_CHAT_BUCKETS:
                # a full bucket is one nobody waits on: forgetting it changes nothing
                self._chats = {c: b for c, b in self._chats.items() if b.wait_time() > 0}
            bucket = self._chats[chat] = TokenBucket(self.per_chat_rate, self.per_chat_burst)
        return bucket

    async def acquire(self, chat: str) -> None:
        """One message to `chat`: the chat's turn first, then the bot's."""
        await self._chat(chat).acquire()
        await self.overall.acquire()
