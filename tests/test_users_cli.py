"""`hawatch users` under concurrency (a file lock around every change) and `hawatch users
passwd`, with real processes and a real login."""

from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hawatch.dashboard.credentials import Credentials, lock_file, users_file
from hawatch.store import Store

from hawatch.cli import main
from tests.conftest import Terminal, dashboard_app, log_in

ROOT = Path(__file__).resolve().parent.parent
OLD, NEW = "old-password-123", "new-password-456"


def users_cli(db: Path, *args: str, password: str | None = None) -> subprocess.Popen[str]:
    """`hawatch users ...` in a process of its own, as two operators' shells would run it."""
    command = [sys.executable, "-m", "hawatch", "users", *args, "--db", str(db)]
    if password is not None:
        command.append("--password-stdin")
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if process.stdin:
        process.stdin.write((password or "") + "\n")
        process.stdin.close()
        process.stdin = None  # written and closed: communicate() must not flush it
    return process


def finish(process: subprocess.Popen[str]) -> int:
    """Its exit status, once it has ended (its pipes read and closed)."""
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return process.returncode


def names(db: Path) -> set[str]:
    return {u["name"] for u in json.loads(users_file(db).read_text())["users"]}


def waiting_for_lock(pid: int) -> bool:
    """Whether `pid` is queued for a flock another process holds (/proc/locks marks
    waiters with "->")."""
    return any(
        "->" in line and f" {pid} " in line for line in Path("/proc/locks").read_text().splitlines()
    )


def test_a_command_waits_for_the_lock_and_then_keeps_the_other_change(tmp_path):
    db = tmp_path / "hawatch.duckdb"
    Store(db).close()
    Credentials(db).add("first", "viewer", OLD)
    fd = os.open(lock_file(db), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        process = users_cli(db, "add", "second", "--role", "viewer", password=OLD)
        deadline = time.monotonic() + 30
        while not waiting_for_lock(process.pid):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the command never waited for the lock"
            time.sleep(0.05)
        # a change made while the lock is held, as another command would make it
        doc = json.loads(users_file(db).read_text())
        doc["users"].append({**doc["users"][0], "name": "meanwhile"})
        users_file(db).write_text(json.dumps(doc))
    finally:
        os.close(fd)
    assert finish(process) == 0
    assert names(db) == {"first", "meanwhile", "second"}


def test_concurrent_commands_lose_no_user(tmp_path):
    db = tmp_path / "hawatch.duckdb"
    Store(db).close()
    processes = [
        users_cli(db, "add", f"user{n}", "--role", "viewer", password=OLD) for n in range(6)
    ]
    processes.append(users_cli(db, "list", "--format", "json"))
    assert [finish(p) for p in processes] == [0] * len(processes)
    assert names(db) == {f"user{n}" for n in range(6)}
    assert oct(lock_file(db).stat().st_mode & 0o777) == "0o600"


@pytest.fixture
def app(tmp_path: Path) -> Any:
    with Store(tmp_path / "hawatch.duckdb") as store:
        Credentials(store.path).add("vera", "viewer", OLD)
        yield dashboard_app(store)


def login(app: Flask, password: str) -> tuple[FlaskClient, int]:
    return log_in(app, "vera", password)


def test_passwd_from_stdin_changes_the_password_and_ends_old_sessions(app, monkeypatch, capsys):
    db = app.extensions["hawatch"].settings["db"]
    old_session, status = login(app, OLD)
    assert status == 302 and old_session.get("/").status_code == 200
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    assert main(["users", "passwd", "vera", "--password-stdin", "--db", str(db)]) == 0
    assert "new password for vera" in capsys.readouterr().out
    assert old_session.get("/").status_code == 302  # sent to log in again
    assert login(app, OLD)[1] == 401
    new_session, status = login(app, NEW)
    assert status == 302 and new_session.get("/").status_code == 200
    assert Credentials(db).get("vera").role == "viewer"


def test_passwd_asks_twice_at_the_prompt(app, monkeypatch, capsys):
    db = str(app.extensions["hawatch"].settings["db"])
    answers = iter([NEW, NEW + "x"])
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["users", "passwd", "vera", "--db", db]) == 1
    assert "passwords differ" in capsys.readouterr().err
    assert login(app, OLD)[1] == 302
    answers = iter([NEW, NEW])
    assert main(["users", "passwd", "vera", "--db", db]) == 0
    assert login(app, NEW)[1] == 302


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("nobody", NEW, "no user 'nobody'"),
        ("vera", "short", "password too short"),
    ],
)
def test_passwd_refusals(app, monkeypatch, capsys, name, password, message):
    db = str(app.extensions["hawatch"].settings["db"])
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert main(["users", "passwd", name, "--password-stdin", "--db", db]) == 1
    assert message in capsys.readouterr().err
    assert login(app, OLD)[1] == 302
