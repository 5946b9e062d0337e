"""A logged-in dashboard user against a real `hawatch serve`: a cookie jar, the CSRF token
of the last page, and answers that are never followed (a test looks at each redirect)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def add_user(db: Path, name: str, role: str, password: str) -> None:
    subprocess.run(
        ["hawatch", "users", "add", name, "--role", role, "--password-stdin", "--db", str(db)],
        input=password + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


class WebUser:
    """One browser's worth of state: cookies and the last CSRF token seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.token = ""

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(request, timeout=timeout) as response:
                answer = Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            answer = Answer(exc.code, exc.headers, exc.read())
        found = _CSRF.search(answer.text) if answer.body[:1] != b"\x1f" else None
        if found:
            self.token = found.group(1)
        return answer

    def get(self, path: str, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
        return self.request("GET", path, **kwargs)

    def post(self, path: str, form: dict[str, str], csrf: bool = True, **kwargs) -> Answer:  # type: ignore[no-untyped-def]
        if csrf:
            form = {**form, "csrf_token": self.token}
        return self.request("POST", path, form, **kwargs)

    def log_in(self, name: str, password: str, next_path: str = "/") -> Answer:
        self.get("/login")
        return self.post("/login", {"username": name, "password": password, "next": next_path})

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def server_token(db: Path) -> str:
    """The per-run token a server leaves beside its database for `hawatch sql`."""
    return str(json.loads(Path(str(db) + ".serve.json").read_text())["token"])


def api_sql(url: str, db: Path, query: str) -> tuple[int, dict]:
    """POST /api/v1/sql as `hawatch sql` does, with the server's own token."""
    request = urllib.request.Request(
        url + "/api/v1/sql",
        data=json.dumps({"query": query}).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {server_token(db)}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
