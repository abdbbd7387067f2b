"""python-telegram-bot's HTTP layer on aiohttp, the client the rest of the hub uses.

PTB leaves the wire to a `BaseRequest`; its own is httpx. Under a busy long poll httpx's
pure-Python HTTP/1.1 stack cost more CPU per getUpdates batch than the hub spent on the
updates it carried (decision 0079); aiohttp parses HTTP in C and keeps connections the
same way. PTB still does everything above the wire: parameters, the JSON answer, and
Telegram's errors (429 with `retry_after`, 403, 400 …). This class only moves bytes and
maps transport failures to PTB's `TimedOut` and `NetworkError`.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from hub.urls import mask_bot_token

__all__ = ["AiohttpRequest"]


def _given(value: object, default: float | None) -> float | None:
    """A timeout PTB passed, or ours when it passed its DEFAULT_NONE marker."""
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return value  # type: ignore[return-value]


class AiohttpRequest(BaseRequest):
    """A pool of kept connections to one Bot API server, with PTB's four timeouts.

    aiohttp has no write timeout of its own: the read timeout runs from the request's
    end, so a stalled upload is caught by the whole request's bound (connect + write +
    read).
    """

    def __init__(
        self,
        *,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        self._open()

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use: PTB calls a bot before `initialize` too (its
        httpx client exists from construction), and aiohttp wants a running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )
        return self._session

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        write_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        connect_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
        pool_timeout: float | object | None = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._open()
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(connect, pool),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as answer:
                return answer.status, await answer.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {mask_bot_token(str(exc))}") from exc


def _sum(*parts: float | None) -> float | None:
    """The bound of several phases together; none when any of them is unbounded."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The parameters as a form, or multipart with the files when there are any."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return fields or None
    form = aiohttp.FormData(fields)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
