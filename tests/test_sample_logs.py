"""sample_logs/ is exactly what the README says regenerates it, byte for byte."""

from __future__ import annotations

import filecmp
from pathlib import Path

from hawatch.simulator import simulate

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_sample_logs_are_reproducible_byte_for_byte(tmp_path):
    simulate(seed=7, pairs=8, days=3, out=tmp_path)
    assert _files(tmp_path) == _files(SAMPLE_LOGS)
    _, mismatch, errors = filecmp.cmpfiles(
        SAMPLE_LOGS, tmp_path, _files(SAMPLE_LOGS), shallow=False
    )
    assert (mismatch, errors) == ([], [])
