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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hawatch.collector.inputs import Peekable

BATCH_RECORDS = 20_000
MAX_RECORD_CHARS = 1024 * 1024
_READ = 1024 * 1024


@dataclass
class Bad:
    raw: str
    reason: str


Item = tuple[int, dict[str, Any] | Bad]


# what lies between JSON values of an array, NDJSON or objects one after another
_GAP = re.compile(r"[ \t\r\n,\[\]]*")


def _json_values(stream: Peekable, final: bool = True) -> Iterator[dict[str, Any] | Bad]:
    """Values of a JSON array or of a sequence of JSON values (NDJSON), one at a time.

    Array brackets and commas between values are treated as separators, so an array, NDJSON
    and pretty-printed objects one after another all read the same way. The buffer holds at
    most about two records' worth (MAX_RECORD_CHARS); separators are skipped by a regular
    expression, not character by character (256 MiB of spaces took 229 s that way). A value
    broken off at the end of a file that is not `final` is left for a later run.
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
            i = _GAP.match(buf, i).end()  # type: ignore[union-attr]
            if i < len(buf) or eof:
                break
            fill()
        if i >= len(buf):
            return
        try:
            value, end = decoder.raw_decode(buf, i)
        except RecursionError:
            yield Bad(buf[i : _line_end(buf, i)][:4096], "JSON nested too deeply")
            i = _line_end(buf, i)
            continue
        except json.JSONDecodeError as exc:
            if not eof and len(buf) - i < MAX_RECORD_CHARS:
                fill()
                continue
            if eof and not final:
                return  # maybe only not written yet
            yield Bad(buf[i : _line_end(buf, i)][:4096], f"broken JSON: {exc.msg}")
            i = _line_end(buf, i)
            continue
        i = end
        if isinstance(value, dict):
            yield value
        else:
            yield Bad(json.dumps(value)[:4096], f"JSON {type(value).__name__} is not a record")


def _line_end(buf: str, i: int) -> int:
    stop = buf.find("\n", i + 1)
    return len(buf) if stop < 0 else stop


def json_items(stream: Peekable, skip: int, final: bool = True) -> Iterator[Item]:
    for number, value in enumerate(_json_values(stream, final), start=1):
        if number > skip:
            yield number, value


@dataclass
class _Overlong:
    """A line longer than MAX_RECORD_CHARS: not kept, only measured."""

    length: int


class _Lines:
    """The lines csv.reader reads; an overlong one is replaced by an empty line (which the
    reader yields as an empty row) and noted, so that it is rejected, never cut and parsed."""

    def __init__(self, chunks: Iterator[str], final: bool) -> None:
        self._lines = _split_lines(chunks, final=final)
        self.overlong: list[_Overlong] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        if isinstance(line, _Overlong):
            self.overlong.append(line)
            return "\n"
        return line


def csv_items(stream: Peekable, skip: int, final: bool = True) -> Iterator[Item]:
    """Rows of a CSV export with a header line; positions are line numbers."""
    text = codecs.iterdecode(iter(lambda: stream.read(_READ), b""), "utf-8", errors="replace")
    lines = _Lines(text, final)
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
        if lines.overlong:
            cut = lines.overlong[:]
            lines.overlong.clear()
            if number > skip:
                yield (
                    number,
                    Bad(
                        f"(line {number}: {cut[0].length:,} characters)",
                        f"CSV line longer than {MAX_RECORD_CHARS // 1024} KiB",
                    ),
                )
            continue
        if header is None:
            header = [h.strip().lstrip("\ufeff").lower() for h in row]
            continue
        if number <= skip or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            yield (
                number,
                Bad(
                    ",".join(row)[:4096], f"CSV row has {len(row)} fields, header has {len(header)}"
                ),
            )
            continue
        yield number, dict(zip(header, row, strict=True))


def _split_lines(
    chunks: Iterator[str], limit: int = MAX_RECORD_CHARS, final: bool = True
) -> Iterator[str | _Overlong]:
    """Lines (with their newline) of a stream of text chunks, in linear time and bounded
    memory: a line is gathered only up to `limit` characters; a longer one comes out as
    _Overlong. (Re-splitting everything read so far on each chunk took 226 s and 1.4 GiB
    for one 1 GiB line.) A last line without a newline comes out only when `final`."""
    parts: list[str] = []  # the start of the current line
    size = 0
    for chunk in chunks:
        pieces = chunk.split("\n")
        for number, piece in enumerate(pieces):
            size += len(piece)
            if size <= limit:
                parts.append(piece)
            elif parts:
                parts = []
            if number == len(pieces) - 1:
                break  # the line goes on in the next chunk
            yield "".join(parts) + "\n" if size <= limit else _Overlong(size)
            parts, size = [], 0
    if size and final:
        yield "".join(parts) if size <= limit else _Overlong(size)


def batches(items: Iterator[Item], size: int = BATCH_RECORDS) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
