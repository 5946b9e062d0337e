"""The installed product: `python -m build` gives an sdist and a wheel (the wheel built from
the sdist, so a file missing from the sdist fails here); the wheel adds exactly one top-level
package, `hawatch`, and carries the sample logs, migrations, templates and static files; a
fresh virtualenv with only the wheel runs `hawatch --version` and `hawatch demo`.

The virtualenv borrows the already-installed dependencies (--system-site-packages) so the test
downloads nothing but the build backend; it runs outside the checkout, so nothing can come
from the source tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_sdist_and_wheel_with_one_top_level_package(dist: Path):
    assert len(list(dist.glob("hawatch-*.tar.gz"))) == 1
    (wheel,) = dist.glob("hawatch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"hawatch"}, top
    for needed in (
        "hawatch/store/migrations/001_initial.sql",
        "hawatch/sample_logs/inventory.csv",
        "hawatch/sample_logs/syslog/fra1.log",
        "hawatch/dashboard/templates/base.html",
        "hawatch/dashboard/static/chart.js",
        "hawatch/collector/syslog/listener.py",
        "hawatch/analytics/alerts/pipeline.py",
        "hawatch/store/schema.md",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith("hawatch/tests") or n.endswith(".duckdb")]
    if shutil.which("cc"):  # the C line scanner, beside the parser it stands in for
        assert [
            n
            for n in names
            if n.startswith("hawatch/collector/vendors/sonicos/_fastscan.") and n.endswith(".so")
        ], "the C extension is not in the wheel"


def test_a_fresh_virtualenv_runs_the_wheel(dist: Path, tmp_path: Path):
    (wheel,) = dist.glob("hawatch-*.whl")
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120
    )
    pip = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin/hawatch"), *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    where = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "import hawatch.store, hawatch.commands.demo;"
            " print(hawatch.store.__file__);"
            " print(hawatch.commands.demo.sample_logs())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(venv)) for line in where.stdout.splitlines()), where.stdout
    doc = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "from hawatch.store.schema_contract import schema_doc;"
            " print(schema_doc().splitlines()[0])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert doc.stdout.strip() == "# The hawatch SQL schema", doc  # the console's schema doc
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("hawatch 0.1.0 ("), version
    if shutil.which("cc"):  # the extension is optional: built wherever a compiler is
        assert "C line scanner active" in version.stdout, version.stdout
    demo = run("demo", "--db", str(tmp_path / "demo.duckdb"), "--no-serve")
    assert demo.returncode == 0, demo.stderr
    assert "fra1-ha01" in demo.stdout and "incidents:" in demo.stdout
