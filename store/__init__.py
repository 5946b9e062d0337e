"""The DuckDB store: schema migrations, the one object that owns the connection, the event model."""

from store.db import Store
from store.errors import HawatchError

__all__ = ["HawatchError", "Store"]
