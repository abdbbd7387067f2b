"""A JSON answer encoded, tagged and gzipped once, then sent many times.

Answers kept in memory (the KPI table and monitor, decision 0062) would otherwise be
hashed for their ETag and gzipped again for every client: for a 110 kB table that is
more CPU than finding the answer. A `PreparedJson` carries its body, its weak ETag (of
the JSON, as `etag_of` makes it for any answer) and, when the body is large enough to be
compressed, its gzip; the compression and conditional middlewares leave an answer that
already has its encoding and ETag as it is.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass

from aiohttp import hdrs, web

from hub.web.app import COMPRESS_MIN_BYTES, etag_of

#: zlib's default level, as aiohttp compresses other answers.
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class PreparedJson:
    """A JSON body with its ETag and, when large, its gzip."""

    body: bytes
    etag: str
    gzipped: bytes | None

    @classmethod
    def of(cls, body: bytes) -> PreparedJson:
        large = len(body) >= COMPRESS_MIN_BYTES
        return cls(
            body=body,
            etag=etag_of(body),
            gzipped=gzip.compress(body, GZIP_LEVEL, mtime=0) if large else None,
        )

    def response(self, request: web.Request) -> web.Response:
        """The answer for `request`: gzipped when the client accepts it and it is large."""
        headers = {hdrs.ETAG: self.etag}
        body = self.body
        if self.gzipped is not None and "gzip" in request.headers.get(
            hdrs.ACCEPT_ENCODING, ""
        ).lower():
            headers[hdrs.CONTENT_ENCODING] = "gzip"
            body = self.gzipped
        return web.Response(
            body=body, headers=headers, content_type="application/json", charset="utf-8"
        )
