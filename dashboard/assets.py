"""Static assets under fingerprinted URLs: `/assets/<content hash>/<name>`, kept a year.

A stylesheet or script whose URL names its content can be cached for good (`immutable`: the
browser does not even revalidate on reload); a new release changes the hash, so the page
asks for the new file. Each asset is read, hashed and gzipped (level 9, once) on first use
and kept in memory: plotly.js goes out as ~1.4 MB instead of 4.8 MB, to clients that send
`Accept-Encoding: gzip`. The files hold no data, so they need no login (the login page
itself needs the stylesheet). A request naming an old hash (a page from before an upgrade)
gets the current file, revalidated, not a 404 that would leave the page unstyled.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import plotly
from flask import Flask, Response, abort, request, url_for

STATIC = Path(__file__).resolve().parent / "static"
FILES = {
    "hawatch.css": STATIC / "hawatch.css",
    "theme.js": STATIC / "theme.js",
    "chart.js": STATIC / "chart.js",
    "sql.js": STATIC / "sql.js",
    "plotly.min.js": Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
}
TYPES = {".css": "text/css", ".js": "text/javascript"}
IMMUTABLE = "public, max-age=31536000, immutable"
HASH_CHARS = 12
ENDPOINT = "asset"  # public: dashboard/views/auth.py lets it through without a login


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes, its gzip, its hash and the file's stamp."""

    data: bytes
    zipped: bytes
    digest: str
    stamp: tuple[int, int]


class Assets:
    """The assets read so far; a file changed on disk (a developer's edit) is read again."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self._loaded: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Asset:
        path = self.files[name]
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        asset = self._loaded.get(name)
        if asset is None or asset.stamp != stamp:
            with self._lock:  # plotly's gzip takes ~0.3 s: once, not once per thread
                asset = self._loaded.get(name)
                if asset is None or asset.stamp != stamp:
                    asset = self._load(path, stamp)
                    self._loaded[name] = asset
        return asset

    @staticmethod
    def _load(path: Path, stamp: tuple[int, int]) -> Asset:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:HASH_CHARS]
        return Asset(data, gzip.compress(data, compresslevel=9, mtime=0), digest, stamp)


def asset_url(assets: Assets, name: str) -> str:
    """The URL of an asset, naming its content (for templates: `asset_url('hawatch.css')`)."""
    return url_for(ENDPOINT, digest=assets.get(name).digest, name=name)


def serve(assets: Assets, digest: str, name: str) -> Response:
    if name not in assets.files:
        abort(404, f"no asset named {name!r}")
    found = assets.get(name)
    zipped = "gzip" in request.accept_encodings
    response = Response(found.zipped if zipped else found.data, mimetype=TYPES[Path(name).suffix])
    if zipped:
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(found.digest + ("-gz" if zipped else ""))
    response.headers["Cache-Control"] = IMMUTABLE if digest == found.digest else "no-cache"
    response.make_conditional(request)  # 304 in place when the ETag matches
    return response


def init_app(app: Flask) -> None:
    """The app's assets (read once per app), their route and the templates' `asset_url`."""
    assets = Assets(FILES)
    app.add_url_rule("/assets/<digest>/<name>", ENDPOINT, functools.partial(serve, assets))
    app.jinja_env.globals["asset_url"] = functools.partial(asset_url, assets)
    app.add_url_rule("/favicon.ico", "favicon", no_icon)


def no_icon() -> Response:
    """Browsers ask for /favicon.ico on pages that name no icon (the plain-text schema doc):
    an empty answer instead of a 404 in the log and the console."""
    return Response(status=204, headers={"Cache-Control": "public, max-age=86400"})
