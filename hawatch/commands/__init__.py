"""One module per `hawatch` command: its parser (options, help, nested actions) beside its
handler(s). Each has `register(commands)`, which adds its parser to the main parser's
sub-parsers and sets `run` to its handler; hawatch/cli.py lists them in COMMANDS, so adding a
command is a new module here plus its name there.

Shared: common.py (--db, --config, --format, and the settings they give), via_server.py
(asking the running server that holds the database, or reading the file when none does).
"""
