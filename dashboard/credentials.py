"""Dashboard users and the session secret, kept in files beside the database, never in it.

DuckDB has no per-table permissions, and analysts' SQL reaches whatever the database file
holds, so password hashes and the session secret live in `<db>.users.json` and
`<db>.secret`, both readable by the server's user only (mode 0600). Every change is written
to a temporary file and renamed over the old one, so a reader (the running server reads the
users file on every request) never sees half a file; and every read-modify-write holds an
exclusive `flock` on `<db>.users.json.lock`, so two `hawatch users` commands at once cannot
both read the old list and lose one change. (The lock is a file of its own: the users file
is replaced by rename, and a lock on a replaced file protects nothing.) Nothing here opens
the DuckDB file: `hawatch users` works whether or not a server holds it.

Sessions are signed cookies, so logging out cannot take a cookie back from whoever copied
it; the users file also lists the sessions that logged out (`ended_sessions`, a digest of
each session id and when its cookie would have expired), and the server refuses those.
`hawatch users passwd` ends all of a user's sessions the same way: each session carries a
stamp of the password hash it logged in with.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hawatch.store.errors import HawatchError

ROLES = ("viewer", "operator", "admin")  # each includes what the ones before it may do
RANK = {role: rank for rank, role in enumerate(ROLES)}
# sessions logged out before they expired: digest of the session id -> its expiry (UTC)
ENDED = "ended_sessions"
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # scrypt's cost grows with the input; nobody types more
# scrypt: 2**15 x 8 x 128 bytes = 32 MiB and ~0.1 s per hash (OWASP's minimum is 2**17 x 8
# x 1 at 128 MiB; 32 MiB keeps eight concurrent logins within a small server's memory)
_N, _R, _P, _DKLEN = 2**15, 8, 1, 32


class CredentialError(HawatchError):
    """A user that cannot be added or changed: unknown role, duplicate, short password."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created_at: str


def users_file(db: str | Path) -> Path:
    return Path(str(db) + ".users.json")


def lock_file(db: str | Path) -> Path:
    return Path(str(db) + ".users.json.lock")


def secret_file(db: str | Path) -> Path:
    return Path(str(db) + ".secret")


# -- password hashes -----------------------------------------------------------------------
def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=256 * 1024 * 1024
    )


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash` (hex); the parameters travel with the hash, so they can be
    raised later without invalidating stored ones."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P, _DKLEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD:
            return False
        expected = bytes.fromhex(digest)
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _dummy_hash() -> str:
    """A hash of nothing anyone knows: checked when the user does not exist, so a wrong
    name costs the same time as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def check_password_rules(password: str) -> None:
    if not password:
        raise CredentialError("empty password")
    if len(password) < MIN_PASSWORD:
        raise CredentialError(f"password too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise CredentialError(f"password too long: at most {MAX_PASSWORD} characters")


def check_role(role: str) -> None:
    if role not in RANK:
        raise CredentialError(f"unknown role {role!r}: one of {', '.join(ROLES)}")


# -- files ---------------------------------------------------------------------------------
def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by this user only."""
    fd, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already creates 0600; said again to be sure
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class Credentials:
    """The users of one database. Reads the file on every call: changes made by
    `hawatch users` while a server runs take effect at its next request."""

    def __init__(self, db: str | Path) -> None:
        self.path = users_file(db)
        self.lock_path = lock_file(db)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The whole users document, loaded under the lock and saved (still under it) when
        the block ends without an error."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits for another command's change to finish
            doc = self._read()
            yield doc
            _write_private(self.path, json.dumps(doc, indent=2) + "\n")
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, User]]:
        """The users, loaded under the lock and saved (still under it) when the block ends
        without an error. Slow work (hashing) belongs before this, not inside."""
        with self._locked() as doc:
            users = _users(doc)
            yield users
            doc["users"] = [asdict(u) for u in sorted(users.values(), key=lambda u: u.name)]

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"users": []}
        except (OSError, ValueError) as exc:
            raise CredentialError(f"cannot read {self.path}: {exc}") from None
        if not isinstance(doc, dict):
            raise CredentialError(f"cannot read {self.path}: not a JSON object")
        return doc

    def _load(self) -> dict[str, User]:
        return _users(self._read())

    def list(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        return self._load().get(name)

    def add(self, name: str, role: str, password: str) -> User:
        name = name.strip()
        if not name or len(name) > 64 or any(c.isspace() or not c.isprintable() for c in name):
            raise CredentialError("user name: 1 to 64 printable characters, no spaces")
        check_role(role)
        check_password_rules(password)
        user = User(
            name, role, hash_password(password), datetime.now(UTC).isoformat(timespec="seconds")
        )
        with self._changing() as users:
            if name in users:
                raise CredentialError(f"user {name!r} already exists")
            users[name] = user
        return user

    def remove(self, name: str) -> None:
        with self._changing() as users:
            if users.pop(name, None) is None:
                raise CredentialError(f"no user {name!r}")

    def set_role(self, name: str, role: str) -> User:
        check_role(role)
        with self._changing() as users:
            if name not in users:
                raise CredentialError(f"no user {name!r}")
            users[name] = User(name, role, users[name].password_hash, users[name].created_at)
            return users[name]

    def set_password(self, name: str, password: str) -> User:
        """A new password; sessions logged in with the old one end at their next request."""
        check_password_rules(password)
        new_hash = hash_password(password)
        with self._changing() as users:
            if name not in users:
                raise CredentialError(f"no user {name!r}")
            users[name] = User(name, users[name].role, new_hash, users[name].created_at)
            return users[name]

    # -- sessions ---------------------------------------------------------------------
    def session_user(self, name: str, session_id: str | None) -> User | None:
        """The user of a dashboard session, or None when the user is gone or the session
        was logged out (one read of the file, as every request makes)."""
        doc = self._read()
        if not session_id or _session_key(session_id) in doc.get(ENDED, {}):
            return None
        return _users(doc).get(name)

    def end_session(self, session_id: str, until: datetime) -> None:
        """Log one session out for good: its cookie is refused until `until` (when it
        would have expired anyway), even if it was copied before the logout."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._locked() as doc:
            ended = {k: v for k, v in doc.get(ENDED, {}).items() if v > now}
            ended[_session_key(session_id)] = until.astimezone(UTC).isoformat(timespec="seconds")
            doc[ENDED] = ended

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right; None otherwise, in the same time whether or
        not the user exists."""
        user = self._load().get(name)
        ok = verify_password(user.password_hash if user else _dummy_hash(), password)
        return user if ok and user is not None else None


def _users(doc: dict[str, Any]) -> dict[str, User]:
    return {u["name"]: User(**u) for u in doc.get("users", [])}


def _session_key(session_id: str) -> str:
    """How an ended session is remembered: a digest, so the file holds no usable cookie
    part (the id alone would be useless without the signing key anyway)."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:32]


def new_session_id() -> str:
    return secrets.token_urlsafe(18)


def login_stamp(user: User) -> str:
    """A short digest of the user's password hash, kept in the session at login: when the
    password changes, the stamp no longer matches and the old sessions end."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def session_secret(db: str | Path) -> bytes:
    """The random key that signs session cookies, generated on first use."""
    path = secret_file(db)
    try:
        return bytes.fromhex(path.read_text("ascii").strip())
    except FileNotFoundError:
        pass
    fd, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    try:
        os.link(temp, path)  # fails if another process made one first: theirs is kept
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)
    return bytes.fromhex(path.read_text("ascii").strip())
