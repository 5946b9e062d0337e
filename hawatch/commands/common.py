"""The options every command shares, and the settings they give (docs/configuration.md)."""

from __future__ import annotations

import argparse
import os
from typing import TypeAlias

from hawatch.config import load_config
from hawatch.output import FORMATS
from hawatch.store.settings_type import Settings

# what each command module's register() adds its parser to (`hawatch <command>`)
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_common(parser: argparse.ArgumentParser, fmt: bool = False) -> None:
    parser.add_argument("--db", help="DuckDB database file (setting: db)")
    parser.add_argument("--config", help="TOML configuration file")
    if fmt:
        parser.add_argument(
            "--format", choices=FORMATS, default="table", help="output format (default: table)"
        )


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings (file, environment), with --db over the `db` setting."""
    settings = load_config(getattr(args, "config", None))
    if getattr(args, "db", None):
        settings["db"] = args.db
    return settings


def add_by(parser: argparse.ArgumentParser) -> None:
    """`--by`: who acted, for the audit log (operators' actions)."""
    parser.add_argument(
        "--by",
        default=os.environ.get("USER", "operator"),
        help="who, for the audit log (default: $USER)",
    )
