"""The DuckDB store: schema migrations, the one object that owns the connection, the event model."""

from hawatch.store.db import Store
from hawatch.store.errors import HawatchError

__all__ = ["HawatchError", "Store"]
