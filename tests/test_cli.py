"""The command line as users meet it: help, one-line errors, exit codes, formats."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

COMMANDS = ["ingest", "sql", "simulate", "demo"]


def hawatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["hawatch", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = hawatch(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: hawatch {command}")


def test_every_command_module_is_a_command():
    """A command is a module of hawatch/commands/ with register(): each is listed in
    cli.COMMANDS (so `hawatch --help` and docs/cli.md have it), and each name listed is one."""
    import pkgutil
    from importlib import import_module

    import hawatch.commands
    from hawatch.cli import COMMANDS as LISTED

    modules = {
        m.name
        for m in pkgutil.iter_modules(hawatch.commands.__path__)
        if hasattr(import_module(f"hawatch.commands.{m.name}"), "register")
    }
    assert modules == set(LISTED)
    assert len(LISTED) == len(set(LISTED))


def test_bad_time_zone_is_a_one_line_error(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("x\n")
    result = hawatch(
        "ingest", "--db", str(tmp_path / "x.duckdb"), "--timezone", "Mars/Base", str(log)
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "unknown time zone 'Mars/Base'" in result.stderr


def test_unknown_config_key_is_refused(tmp_path):
    config = tmp_path / "hawatch.toml"
    config.write_text("[sql]\ntimeout_secs = 3\n")
    result = hawatch("sql", "--config", str(config), "--db", str(tmp_path / "x.duckdb"), "select 1")
    assert result.returncode == 1
    assert "unknown setting 'sql.timeout_secs'" in result.stderr


def test_config_file_and_environment_set_the_database(tmp_path):
    log = tmp_path / "a.log"
    log.write_text(
        '<134>id=firewall sn=C0EAE4000001 time="2026-11-01 10:00:00" fw=10.0.0.1'
        ' pri=6 c=262144 m=98 msg="Connection Opened" n=1\n'
    )
    config = tmp_path / "hawatch.toml"
    config.write_text(f'db = "{tmp_path / "from-config.duckdb"}"\n')
    assert hawatch("ingest", "--config", str(config), str(log)).returncode == 0
    assert (tmp_path / "from-config.duckdb").exists()
    env = {"PATH": os.environ["PATH"], "HAWATCH_DB": str(tmp_path / "env.duckdb")}
    result = hawatch("sql", "--format", "json", "select count(*) AS n from message_counts", env=env)
    assert result.returncode == 1 and "no database at" in result.stderr
    env["HAWATCH_DB"] = str(tmp_path / "from-config.duckdb")
    result = hawatch(
        "sql", "--format", "json", "select sum(lines) AS n from message_counts", env=env
    )
    assert json.loads(result.stdout) == [{"n": 1}]
