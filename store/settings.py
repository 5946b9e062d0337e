"""The shape of a setting. Each package declares its own settings as a tuple of these
(collector, analytics, ...); `hawatch.config` gathers them into one table, loads them from
TOML and the environment, and docs/configuration.md is generated from that table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str  # dotted: section.key in TOML, HAWATCH_SECTION_KEY in the environment
    default: Any
    help: str
    secret: bool = False  # environment only
    env_name: str | None = None  # when the derived variable name is not the documented one

    @property
    def env(self) -> str:
        return self.env_name or "HAWATCH_" + self.name.upper().replace(".", "_")
