"""Responses for large, cacheable pages: an ETag (so the fleet page's 60-second refresh of
unchanged data is a 304 with no body) and gzip when the client accepts it.

gzip pays here: the fleet page at 2,000 pairs is ~600 KB of HTML that compresses to ~60 KB
in about 1.5 ms at level 1 (zlib releases the GIL meanwhile), while writing and reading the
full body costs more than that even over loopback. Small bodies go as they are.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass

from flask import Response, request

GZIP_MIN_BYTES = 4096
# where a cached body goes into a page rendered per request (an HTML comment: inert)
SLOT = "<!--hawatch:body-->"
GZIP_LEVEL = 1  # level 6 is 20% smaller and twice the time; the network rarely needs it


@dataclass(frozen=True)
class Prepared:
    """A body made ready once (hashed, and gzipped when large) to be sent many times."""

    data: bytes
    zipped: bytes | None
    tag: str
    mimetype: str


def prepare(body: str | bytes, mimetype: str) -> Prepared:
    data = body.encode() if isinstance(body, str) else body
    zipped = (
        gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        if len(data) >= GZIP_MIN_BYTES
        else None
    )
    return Prepared(data, zipped, hashlib.sha1(data, usedforsecurity=False).hexdigest(), mimetype)


def send(prepared: Prepared) -> Response:
    """The prepared body as a 304 when the client has it, gzipped if the client accepts it."""
    zipped = prepared.zipped is not None and "gzip" in request.accept_encodings
    # a strong ETag names one representation: the gzipped body gets its own tag
    tag = prepared.tag + ("-gz" if zipped else "")
    response = Response(mimetype=prepared.mimetype)
    response.set_etag(tag)
    response.vary.add("Accept-Encoding")
    response.vary.add("Cookie")
    if request.if_none_match.contains(tag):
        response.status_code = 304
        return response
    if zipped:
        response.content_encoding = "gzip"
    response.set_data(prepared.zipped if zipped and prepared.zipped else prepared.data)
    return response
