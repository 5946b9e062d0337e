"""Bounds on what one source may cost, whoever sent it: decompressed bytes, and quarantine
rows kept with their text.

A file's bad lines are quarantined with their text so that an analyst can see what went
wrong, and every viewer can read the quarantine. So a file that is not a log at all (a
README, a binary, someone's password file) must not be copied into it: while a source has
given nothing usable, only a small sample of its lines is kept; after that, up to a cap per
source. Lines over the limit are still counted (`sources.quarantined`), never silently lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hawatch.store.settings import Setting

MIB = 1024 * 1024

INGEST_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "ingest.max_decompressed_megabytes",
        4096,
        "A gzip input stops (and is refused as too large) beyond this many MiB"
        " decompressed: a decompression bomb costs no more. 0: no limit.",
    ),
    Setting(
        "ingest.max_quarantine_rows",
        10000,
        "Quarantined lines or records of one source stored with their text; further"
        " ones are counted in sources.quarantined only.",
    ),
    Setting(
        "ingest.quarantine_sample_rows",
        20,
        "While a source has given nothing usable, only this many of its quarantined"
        " lines are stored with their text (a file that is not a log keeps a sample).",
    ),
)


@dataclass(frozen=True)
class IngestLimits:
    max_decompressed_bytes: int = 4096 * MIB  # 0: no limit
    max_quarantine_rows: int = 10_000
    quarantine_sample_rows: int = 20

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> IngestLimits:
        defaults = {s.name: s.default for s in INGEST_SETTINGS}

        def value(name: str) -> int:
            return max(0, int(settings.get(name, defaults[name])))

        return cls(
            value("ingest.max_decompressed_megabytes") * MIB,
            value("ingest.max_quarantine_rows"),
            value("ingest.quarantine_sample_rows"),
        )

    def quarantine_room(self, stored: int, usable: bool) -> int:
        """How many more quarantine rows of a source may be stored with their text."""
        cap = (
            self.max_quarantine_rows
            if usable
            else min(self.quarantine_sample_rows, self.max_quarantine_rows)
        )
        return max(0, cap - stored)
