"""The C line scanner (fastscan.c beside this file): a chunk of syslog straight to typed fields.

The SQL in collector.vendors.sonicos.parse (`_FIELDS`) extracts sn, m, n and the times from
every line; over a whole file that per-line work is most of the ingest. The C scanner computes the
same fields in one pass over the chunk, in the reader thread and without the GIL, so DuckDB
only aggregates. The SQL stays the reference, and the fallback when the extension is not
built or HAWATCH_NO_FASTSCAN=1 (tests compare both).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

_fastscan: Any
try:  # by name: a C extension has no stub for a type checker to read
    _fastscan = importlib.import_module("hawatch.collector.vendors.sonicos._fastscan")
except ImportError:  # not built (e.g. no compiler): the SQL path does the work
    _fastscan = None

DISABLE_ENV = "HAWATCH_NO_FASTSCAN"
MAX_CHUNK_BYTES = 256 * 1024 * 1024  # string offsets are int32, escaping may quadruple text

SCHEMA = pa.schema(
    [
        ("pos", pa.int64()),
        ("sn", pa.string()),
        ("m", pa.int32()),
        ("n", pa.int64()),
        ("is_utc", pa.bool_()),
        ("ts", pa.timestamp("us")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("line", pa.string()),
    ]
)


def available() -> bool:
    """Whether the extension is built and not switched off."""
    return _fastscan is not None and os.environ.get(DISABLE_ENV, "") in ("", "0")


def scan_table(
    chunk: memoryview | bytes, first_line: int, counted_ids: Iterable[int]
) -> tuple[pa.Table, int]:
    """The fields of every non-blank line of `chunk` as a table (SCHEMA), and the number of
    lines, blank ones included. The table is one record batch: the reader cuts it
    (collector/line_batches.py) as it cuts the SQL path's.

    `line` is NULL where the fields say everything (a valid line of a counted id); elsewhere
    it is the text without its line ending, invalid UTF-8 bytes written as \\xNN.
    """
    if _fastscan is None:
        raise RuntimeError("collector.vendors.sonicos._fastscan is not built")
    rows, lines, fixed, sn_data, line_data = _fastscan.scan(chunk, first_line, tuple(counted_ids))
    (
        pos,
        m,
        n,
        ts,
        received,
        sn_offsets,
        line_offsets,
        m_ok,
        n_ok,
        utc,
        ts_ok,
        received_ok,
        line_ok,
    ) = (pa.py_buffer(b) for b in fixed)
    columns = [
        pa.Array.from_buffers(pa.int64(), rows, [None, pos]),
        pa.Array.from_buffers(pa.string(), rows, [None, sn_offsets, pa.py_buffer(sn_data)]),
        pa.Array.from_buffers(pa.int32(), rows, [m_ok, m]),
        pa.Array.from_buffers(pa.int64(), rows, [n_ok, n]),
        pa.Array.from_buffers(pa.bool_(), rows, [None, utc]),
        pa.Array.from_buffers(SCHEMA.field("ts").type, rows, [ts_ok, ts]),
        pa.Array.from_buffers(SCHEMA.field("received_at").type, rows, [received_ok, received]),
        pa.Array.from_buffers(pa.string(), rows, [line_ok, line_offsets, pa.py_buffer(line_data)]),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA), lines
