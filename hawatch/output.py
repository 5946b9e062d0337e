"""Rows to text for the terminal (aligned table), for scripts (CSV) and for programs (JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from hawatch.store.readonly import plain_value

FORMATS = ("table", "csv", "json")


def _cell(value: Any) -> str:
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\n", " ")


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """The rows in the format asked for; JSON is a list of objects keyed by column."""
    if fmt == "json":
        records = [{c: plain_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        return json.dumps(records, indent=2, default=str)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
        return out.getvalue().rstrip("\n")
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)
