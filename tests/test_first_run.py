"""A new user's first steps, as issue 12 found them failing: creating the first user without
a terminal (a script, `docker compose exec -T`), a typo in --db, the demo on a busy port,
`hawatch --version`. Real processes; stdin is a pipe, never a terminal."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from hawatch.store import Store

PASSWORD = "a-long-password-1"


def hawatch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["hawatch", *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return result


def database(tmp_path: Path) -> Path:
    db = tmp_path / "hawatch.duckdb"
    Store(db).close()
    return db


def test_users_add_reads_the_password_from_a_pipe(tmp_path):
    db = database(tmp_path)
    added = hawatch(
        "users", "add", "admin", "--role", "admin", "--db", str(db), stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    listed = hawatch("users", "list", "--db", str(db), "--format", "json")
    assert [u["name"] for u in json.loads(listed.stdout)] == ["admin"]


def test_users_add_with_nothing_on_stdin_is_one_line(tmp_path):
    db = database(tmp_path)
    result = hawatch("users", "add", "admin", "--role", "admin", "--db", str(db), stdin="")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no password on standard input" in result.stderr


def test_users_commands_refuse_a_database_that_does_not_exist(tmp_path):
    typo = tmp_path / "typo.duckdb"
    for args in (["add", "admin", "--role", "admin"], ["list"]):
        result = hawatch("users", *args, "--db", str(typo), stdin=PASSWORD + "\n")
        assert result.returncode == 1, result.stdout
        assert f"no database at {typo}" in result.stderr
        assert result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no users file for a database that is not there


def test_demo_on_a_busy_port_fails_before_printing_a_password(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = hawatch(
            "demo", "--db", str(tmp_path / "demo.duckdb"), "--http", f"127.0.0.1:{port}"
        )
    assert result.returncode == 1
    assert "password" not in result.stdout and result.stdout == ""
    assert f"cannot serve the demo on 127.0.0.1:{port}" in result.stderr
    assert not (tmp_path / "demo.duckdb").exists()


def test_version_says_whether_the_c_scanner_is_active():
    from hawatch.collector.vendors.sonicos import fastscan

    result = hawatch("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("hawatch 0.1.0 (")
    expected = "C line scanner active" if fastscan.available() else "SQL field extraction"
    assert expected in result.stdout
    assert result.stdout.count("\n") == 1
