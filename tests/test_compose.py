"""docker-compose.yml is valid (no Docker engine here: the Compose spec's JSON schema, and
the references the schema cannot check)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run(
        [
            "check-jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_references_resolve():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in doc.get("volumes", {}), (name, source)
    assert {"8080:8080", "5514:5514/udp", "5514:5514/tcp"} <= set(services["hawatch"]["ports"])
    assert (ROOT / services["hawatch"]["build"] / "Dockerfile").exists()


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_every_variable_the_deployment_sets_is_a_setting():
    """A typo in HAWATCH_SMTP_SECURITY would silently leave the default (STARTTLS required,
    which the bundled mail catcher does not offer)."""
    from hawatch.config import SETTINGS

    known = {s.env for s in SETTINGS} | {"HAWATCH_DB"}
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    names = set(_environment(doc["services"]["hawatch"]))
    names |= set(re.findall(r"\b(HAWATCH_[A-Z_]+)=", (ROOT / "Dockerfile").read_text()))
    assert names and names <= known, names - known


def test_images_are_pinned_and_mail_works_with_the_bundled_catcher():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in doc["services"].items():
        image = service.get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest", (name, image)
    env = _environment(doc["services"]["hawatch"])
    assert env["HAWATCH_SMTP_SECURITY"].endswith("plain}"), env  # Mailpit has no STARTTLS
    assert "HAWATCH_ALERTS_BASE_URL" in env


def test_image_builds_in_two_stages_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(froms) == 2 and "AS build" in text, froms
    runtime = text.split("\nFROM ", 2)[2]
    assert "gcc" not in runtime and "COPY . " not in runtime
    user = re.findall(r"^USER (\S+)", runtime, re.M)
    assert user and user[-1] not in ("root", "0"), user
    assert re.search(r"^ARG PYTHON_IMAGE=python:[\d.]+-slim", text, re.M)


def test_build_context_leaves_out_tests_databases_and_secrets():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {"tests", ".git", "*.duckdb", "*.users.json", "*.secret", "*.serve.json"} <= ignored
    git_ignored = set((ROOT / ".gitignore").read_text().split())
    assert {"*.users.json", "*.secret", "*.serve.json"} <= git_ignored
