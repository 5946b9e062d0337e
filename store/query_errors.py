"""DuckDB's own error text for analysts: the first line as the message, the lines after it
("Did you mean "pairs"?", "Candidate bindings: ...", "LINE 1: ..." with its caret) as a hint,
with the server's file paths taken out.

The hint is what makes a console usable (a misspelt column names the right one), and it is
DuckDB's text, so it may name files: the database folder, the spill folder (`<db>.tmp`),
an extension folder. A path the analyst typed is theirs to see again; any other absolute
path, and every folder the caller names as the server's, is replaced by `<server path>`
wherever it appears, the first line included. The hint is capped in lines and characters,
so an error quoting a long statement cannot grow the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hawatch.store.errors import InvalidQuery

HIDDEN = "<server path>"
MAX_HINT_LINES = 12
MAX_HINT_CHARS = 2000
# an absolute POSIX or Windows path of at least two parts
_PATH = re.compile(r"(?:[A-Za-z]:)?[/\\](?:[^\s\"'`/\\]+[/\\])+[^\s\"'`/\\]*")


def hide_server_paths(text: str, server_paths: Iterable[str]) -> str:
    """`text` with each of `server_paths` replaced, longest first."""
    for path in sorted({p for p in server_paths if p and len(p) > 1}, key=len, reverse=True):
        text = text.replace(path, HIDDEN)
    return text


def hide_paths(text: str, query: str, server_paths: Iterable[str] = ()) -> str:
    """`text` with every server path in it replaced: the ones named, and any absolute path
    the analyst's `query` does not contain."""
    text = hide_server_paths(text, server_paths)
    return _PATH.sub(lambda m: m.group(0) if m.group(0) in query else HIDDEN, text)


def split_message(text: str) -> tuple[str, str]:
    """(first line, the hint lines after it), blank lines at either end of the hint dropped
    and runs of them kept to one."""
    lines = text.strip().splitlines()
    if not lines:
        return "", ""
    hint: list[str] = []
    for line in lines[1:]:
        if line.strip() or (hint and hint[-1].strip()):
            hint.append(line.rstrip())
    while hint and not hint[-1].strip():
        hint.pop()
    if len(hint) > MAX_HINT_LINES:
        hint = [*hint[:MAX_HINT_LINES], "..."]
    joined = "\n".join(hint)
    if len(joined) > MAX_HINT_CHARS:
        joined = joined[: MAX_HINT_CHARS - 3] + "..."
    return lines[0], joined


def analyst_error(exc: BaseException, query: str, server_paths: Iterable[str] = ()) -> InvalidQuery:
    """An InvalidQuery from a DuckDB error: its first line as the message, the rest as the
    hint, server paths hidden in both."""
    message, hint = split_message(hide_paths(str(exc), query, server_paths))
    return InvalidQuery(message or type(exc).__name__, hint)
