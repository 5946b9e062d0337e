"""docker-compose.yml is valid (no Docker engine here: the Compose spec's JSON schema, and
the references the schema cannot check)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.compose-spec",
                             str(ROOT / "docker-compose.yml")],
                            capture_output=True, text=True, timeout=120)
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
