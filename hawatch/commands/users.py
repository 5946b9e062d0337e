"""`hawatch users add|list|remove|set-role|passwd`: dashboard users, kept beside the
database (DB.users.json), never in it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hawatch.commands.common import Commands, add_common, load_settings
from hawatch.output import render
from hawatch.store.errors import HawatchError


def register(commands: Commands) -> None:
    from hawatch.dashboard.credentials import MIN_PASSWORD, ROLES

    p = commands.add_parser(
        "users",
        help="dashboard users and their roles",
        description="Dashboard users, kept beside the database in "
        "DB.users.json (mode 0600), never in it: analysts' SQL cannot read"
        " them. Roles: viewer (read), operator (also acknowledge, silence,"
        " windows), admin (also users). Works whether or not a server is "
        "running.",
    )
    users = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    u = users.add_parser(
        "add",
        help="add a user (asks for the password twice)",
        description=f"Add a user. The password (at least {MIN_PASSWORD} "
        "characters) is asked for twice, or read from the first line of "
        "standard input with --password-stdin.",
    )
    add_common(u)
    u.add_argument("name", metavar="NAME")
    u.add_argument("--role", required=True, help=f"what the user may do: {', '.join(ROLES)}")
    u.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (for scripts)",
    )
    u.set_defaults(run=cmd_users_add)
    u = users.add_parser("list", help="list users, their roles and when they were added")
    add_common(u, fmt=True)
    u.set_defaults(run=cmd_users_list)
    u = users.add_parser("remove", help="remove a user (their sessions end at once)")
    add_common(u)
    u.add_argument("name", metavar="NAME")
    u.set_defaults(run=cmd_users_remove)
    u = users.add_parser("set-role", help="change a user's role (takes effect at once)")
    add_common(u)
    u.add_argument("name", metavar="NAME")
    u.add_argument("role", metavar="ROLE", help=", ".join(ROLES))
    u.set_defaults(run=cmd_users_set_role)
    u = users.add_parser(
        "passwd",
        help="change a user's password (asks for it twice)",
        description=f"Give a user a new password (at least {MIN_PASSWORD} "
        "characters), asked for twice, or read from the first line of "
        "standard input with --password-stdin. The user's dashboard "
        "sessions end at once.",
    )
    add_common(u)
    u.add_argument("name", metavar="NAME")
    u.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (for scripts)",
    )
    u.set_defaults(run=cmd_users_passwd)


def _credentials(args: argparse.Namespace) -> Any:
    from hawatch.dashboard.credentials import Credentials

    db = load_settings(args)["db"]
    if not Path(db).is_file():
        # users live beside a database: a typo in --db must not start a second, empty list
        raise HawatchError(
            f"no database at {Path(db).resolve()} (check --db; `hawatch serve "
            "--db PATH` or `hawatch ingest --db PATH` creates it)"
        )
    return Credentials(db)


def _read_password(from_stdin: bool) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input
    (so `printf '%s\\n' PW | hawatch users add ...` works in scripts and `docker exec -T`)."""
    import getpass

    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:  # end of input; an empty line is an empty password, refused by the rules
            raise HawatchError(
                "no password on standard input (pipe it in, e.g. printf "
                "'%s\\n' \"$PW\" | hawatch users add NAME --role ROLE, or run "
                "in a terminal)"
            )
        return line.rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password again: "):
        raise HawatchError("the passwords differ")
    return password


def cmd_users_add(args: argparse.Namespace) -> int:
    from hawatch.dashboard.credentials import check_password_rules, check_role

    check_role(args.role)
    credentials = _credentials(args)
    if credentials.get(args.name) is not None:  # before asking for a password in vain
        raise HawatchError(f"user {args.name!r} already exists")
    password = _read_password(args.password_stdin)
    check_password_rules(password)
    user = credentials.add(args.name, args.role, password)
    print(f"added {user.name} ({user.role}) to {credentials.path}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    users = _credentials(args).list()
    rows = [(u.name, u.role, u.created_at) for u in users]
    print(
        render(["name", "role", "created_at"], rows, args.format)
        if rows or args.format != "table"
        else "no users"
    )
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    _credentials(args).remove(args.name)
    print(f"removed {args.name}")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    user = _credentials(args).set_role(args.name, args.role)
    print(f"{user.name} is now {user.role}")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from hawatch.dashboard.credentials import check_password_rules

    credentials = _credentials(args)
    if credentials.get(args.name) is None:  # before asking for a password in vain
        raise HawatchError(f"no user {args.name!r}")
    password = _read_password(args.password_stdin)
    check_password_rules(password)
    user = credentials.set_password(args.name, password)
    print(f"new password for {user.name}; their dashboard sessions have ended")
    return 0
