"""Typed errors. Each carries a one-line message a user can act on; the CLI and the web
layer render them once, so no caller ever prints a traceback for an expected failure."""


class HawatchError(Exception):
    """Base of every error that reaches the user as a one-line message."""


class StoreBusy(HawatchError):
    """Another process holds the database file (DuckDB allows one writer process)."""


class InvalidQuery(HawatchError):
    """An analyst query that is not allowed or does not parse. `str()` is the one-line
    message; `hint` holds DuckDB's lines after it ("Did you mean ...", candidate bindings,
    the statement's line with a caret), server paths taken out (store/query_errors.py),
    for the SQL console and the JSON answers to show as well."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class QueryTimeout(HawatchError):
    """An analyst query ran past its time limit and was interrupted."""


class QueryBusy(HawatchError):
    """Every slot for analyst queries is taken (sql.max_concurrent): try again shortly."""


class InputError(HawatchError):
    """A source that cannot be read at all (missing file, unreadable inventory)."""


class RefusedInput(InputError):
    """A source refused for what it is, before or instead of being read: a link or device
    in the drop folder, an inventory sent on the data path, a body that is not the format
    it was sent as, more decompressed data than allowed. `kind` tells which (the web layer
    answers with a status per kind): not_regular, inventory, format, too_large."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
