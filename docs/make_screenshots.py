"""Regenerate docs/screenshots/*.png: the dashboard over sample_logs, in Debian's chromium.

    python3 docs/make_screenshots.py

Builds a throwaway store from sample_logs (ingest + analyse), adds one viewer, serves the real
app with werkzeug on a free loopback port and photographs the fleet and one pair page at
1280x800 with Playwright driving /usr/bin/chromium (`apt-get install -y chromium`; never
`playwright install`)."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hawatch.analytics.analyze import analyze  # noqa: E402
from hawatch.collector.ingest import ingest_paths  # noqa: E402
from hawatch.dashboard.app import create_app  # noqa: E402
from hawatch.dashboard.credentials import Credentials  # noqa: E402
from hawatch.store import Store  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from hawatch.config import load_config  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PAIR = "fra1-ha02"
PASSWORD = "screenshot-password-1"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "hawatch.duckdb") as store:
        ingest_paths(store, [str(ROOT / "sample_logs")])
        analyze(store)
        store.lock_down()
        Credentials(store.path).add("viewer", "viewer", PASSWORD)
        settings = load_config(env={})
        settings.update({"db": store.path})
        server = make_server("127.0.0.1", 0, create_app(settings, store, None), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=ARGS, headless=True,
                    timeout=60_000)
                context = browser.new_context(base_url=base,
                                              viewport={"width": 1280, "height": 800})
                context.set_default_timeout(15_000)
                page = context.new_page()
                page.goto("/login")
                page.fill("input[name=username]", "viewer")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{base}/")
                page.screenshot(path=str(OUT / "fleet.png"))
                page.goto(f"/pairs/{PAIR}")
                page.locator(".js-plotly-plot .scatterlayer .trace").first.wait_for()
                page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
                page.wait_for_timeout(500)
                page.screenshot(path=str(OUT / "pair.png"))
                browser.close()
        finally:
            server.shutdown()
            thread.join(timeout=10)
    for name in ("fleet.png", "pair.png"):
        print(OUT / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
