"""Typed errors. Each carries a one-line message a user can act on; the CLI and the web
layer render them once, so no caller ever prints a traceback for an expected failure."""


class HawatchError(Exception):
    """Base of every error that reaches the user as a one-line message."""


class StoreBusy(HawatchError):
    """Another process holds the database file (DuckDB allows one writer process)."""


class InvalidQuery(HawatchError):
    """An analyst query that is not allowed or does not parse."""


class QueryTimeout(HawatchError):
    """An analyst query ran past its time limit and was interrupted."""


class QueryBusy(HawatchError):
    """Every slot for analyst queries is taken (sql.max_concurrent): try again shortly."""


class InputError(HawatchError):
    """A source that cannot be read at all (missing file, unreadable inventory)."""
