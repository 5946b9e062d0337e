"""Generate docs/cli.md and docs/configuration.md from the parsers and the settings table,
so the documentation cannot drift from the code (tests/test_docs.py checks they match).

Run: python3 -m hawatch.docs
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hawatch.cli import build_parser
from hawatch.config import SETTINGS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _help(parser: argparse.ArgumentParser) -> str:
    os.environ["COLUMNS"] = "100"  # stable wrapping, whatever the terminal
    return parser.format_help().rstrip()


def _sections(parser: argparse.ArgumentParser, path: str, level: int) -> list[str]:
    """A section per command under `parser`, then its own actions' sections one level down
    (`hawatch alerts`, then `hawatch alerts test`, ...), each with its full --help."""
    parts: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                title = f"{path} {name}"
                parts += ["", f"{'#' * level} {title}", "", "```", _help(sub), "```"]
                parts += _sections(sub, title, level + 1)
    return parts


def cli_markdown() -> str:
    parser = build_parser()
    parts = ["# hawatch command line", "",
             "Generated from `hawatch --help` by `python3 -m hawatch.docs`; do not edit.", "",
             "Every command exits 0 on success and non-zero on failure, with a one-line",
             "`hawatch: error: ...` on stderr. Options also come from the configuration file",
             "(`--config`, see configuration.md) and `HAWATCH_*` variables.", "",
             "```", _help(parser), "```", *_sections(parser, "hawatch", 2)]
    return "\n".join(parts) + "\n"


def configuration_markdown() -> str:
    rows = [f"| `{s.name}` | `{s.env}` | `{s.default!r}` | {s.help} |" for s in SETTINGS]
    return "\n".join([
        "# Configuration", "",
        "Generated from the settings table (`hawatch/config.py`) by `python3 -m hawatch.docs`.",
        "",
        "Precedence: built-in default, then the TOML file given with `--config`, then the",
        "environment variable, then the command-line option. In TOML, a dotted name is a key in",
        "a table: `sql.timeout_seconds = 5` is written `[sql]` then `timeout_seconds = 5`.",
        "Secrets are read from the environment only.", "",
        "| setting | environment | default | meaning |", "|---|---|---|---|", *rows, "",
        "Example `hawatch.toml`:", "", "```toml", 'db = "/var/lib/hawatch/hawatch.duckdb"',
        'timezone = "Europe/Berlin"', "", "[sql]", "timeout_seconds = 5.0", "```", ""])


def write_all() -> None:
    (DOCS / "cli.md").write_text(cli_markdown())
    (DOCS / "configuration.md").write_text(configuration_markdown())


if __name__ == "__main__":
    write_all()
