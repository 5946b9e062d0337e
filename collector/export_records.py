"""Records out of JSON (array, NDJSON, concatenated objects) and CSV exports, in batches.

Each item is (position, record) or (position, Bad(raw, reason)): broken JSON or CSV never
stops a file; the bad part is rejected with its reason and reading goes on at the next line.
Positions are record numbers (JSON) or line numbers (CSV), from 1. Resuming skips records an
earlier run committed.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hawatch.collector.sources import _Peekable

BATCH_RECORDS = 20_000
MAX_RECORD_CHARS = 1024 * 1024
_READ = 1024 * 1024


@dataclass
class Bad:
    raw: str
    reason: str


Item = tuple[int, dict[str, Any] | Bad]


def _json_values(stream: _Peekable) -> Iterator[dict[str, Any] | Bad]:
    """Values of a JSON array or of a sequence of JSON values (NDJSON), one at a time.

    Array brackets and commas between values are treated as separators, so an array, NDJSON
    and pretty-printed objects one after another all read the same way.
    """
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8")("replace")
    buf, i, eof = "", 0, False

    def fill() -> None:
        nonlocal buf, i, eof
        data = stream.read(_READ)
        eof = not data
        buf, i = buf[i:] + text_decoder.decode(data, final=eof), 0

    while True:
        while True:
            while i < len(buf) and buf[i] in " \t\r\n,[]":
                i += 1
            if i < len(buf) or eof:
                break
            fill()
        if i >= len(buf):
            return
        try:
            value, end = decoder.raw_decode(buf, i)
        except RecursionError:
            stop = buf.find("\n", i + 1)
            stop = len(buf) if stop < 0 else stop
            yield Bad(buf[i:stop][:4096], "JSON nested too deeply")
            i = stop
            continue
        except json.JSONDecodeError as exc:
            if not eof and len(buf) - i < MAX_RECORD_CHARS:
                fill()
                continue
            stop = buf.find("\n", i + 1)
            stop = len(buf) if stop < 0 else stop
            yield Bad(buf[i:stop][:4096], f"broken JSON: {exc.msg}")
            i = stop
            continue
        i = end
        if isinstance(value, dict):
            yield value
        else:
            yield Bad(json.dumps(value)[:4096], f"JSON {type(value).__name__} is not a record")


def json_items(stream: _Peekable, skip: int) -> Iterator[Item]:
    for number, value in enumerate(_json_values(stream), start=1):
        if number > skip:
            yield number, value


def csv_items(stream: _Peekable, skip: int) -> Iterator[Item]:
    """Rows of a CSV export with a header line; positions are line numbers."""
    text = codecs.iterdecode(iter(lambda: stream.read(_READ), b""), "utf-8", errors="replace")
    lines = _split_lines(text)
    reader = csv.reader(lines)
    header: list[str] | None = None
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's size limit
            yield reader.line_num, Bad(f"(line {reader.line_num})", f"broken CSV: {exc}")
            continue
        number = reader.line_num
        if header is None:
            header = [h.strip().lstrip("\ufeff").lower() for h in row]
            continue
        if number <= skip or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield number, Bad(",".join(row)[:4096],
                              f"CSV row has {len(row)} fields, header has {len(header)}")
            continue
        yield number, dict(zip(header, row, strict=True))


def _split_lines(chunks: Iterator[str]) -> Iterator[str]:
    rest = ""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split("\n")
        yield from (line + "\n" for line in lines)
    if rest:
        yield rest


def batches(items: Iterator[Item], size: int = BATCH_RECORDS) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
