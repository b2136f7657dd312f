"""Users of the Admin API: who they are, their password and API token (as hashes only), and who may sign in.

A user's ``id`` is the name batchctl writes in a job's ``created_by`` — the same name ``BATCHCTL_USER`` gives
the CLI — so a job alice created from the shell is alice's over HTTP too.

What is stored, and why:
- the API token: 32 random bytes, shown once; only its SHA-256 is kept. A token is high-entropy, so a fast
  hash loses nothing (there is no dictionary to try) and lets the server find the user by the hash; the
  found hash is compared with ``hmac.compare_digest`` all the same.
- the password: scrypt (a memory-hard KDF) with a random salt, because passwords are low-entropy.
- a ``nonce`` per user, signed into sessions: removing a user and adding the same name again does not
  revive the old user's sessions.
- the signing secret for sessions (JWT, cookie): generated once and kept in ``batch_secret``, unless
  ``BATCHCTL_JWT_SECRET`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchctl.db import Database, Row, Tx, to_datetime, utcnow
from batchctl.errors import BadInput, NotFound
from batchctl.runtime import Runtime

TOKEN_PREFIX = "bct_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$")
_EMAIL = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,118}$")
# scrypt parameters: 16 MiB and ~50 ms per hash on a laptop; stored with the hash so they can be raised later.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    """A user as the API shows it: never a hash, never a token."""

    id: str
    email: str | None
    created_at: datetime
    updated_at: datetime
    has_password: bool
    has_token: bool
    nonce: str

    @classmethod
    def from_row(cls, row: Row) -> User:
        """A User from a ``batch_user`` row (the hashes stay behind)."""
        created_at, updated_at = to_datetime(row["created_at"]), to_datetime(row["updated_at"])
        assert created_at is not None and updated_at is not None
        return cls(
            id=row["id"],
            email=row["email"],
            created_at=created_at,
            updated_at=updated_at,
            has_password=row["password_hash"] is not None,
            has_token=row["token_hash"] is not None,
            nonce=row["nonce"],
        )

    def to_json(self) -> dict[str, Any]:
        """The user as Medusa's ``created_by_user`` shape (without Medusa's plain-text ``api_token``)."""
        from batchctl.store import iso

        return {
            "id": self.id,
            "email": self.email,
            "first_name": None,
            "last_name": None,
            "role": "admin",
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "deleted_at": None,
            "has_password": self.has_password,
            "has_token": self.has_token,
        }


def new_token() -> str:
    """A fresh API token: 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password`` with a fresh salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; spends the same time when there is no stored hash."""
    if stored is None:
        _scrypt(password, b"no-such-user-salt", _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed, _unb64(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as error:
        raise ValueError("not base64") from error


def check_name(name: str) -> str:
    """A user name batchctl accepts (it becomes ``created_by``)."""
    if not _NAME.match(name):
        raise BadInput(
            f"invalid user name {name!r}: use 1-200 letters, digits and . _ @ - (starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> str:
    """A password long enough to be worth hashing."""
    if len(password) < _MIN_PASSWORD:
        raise BadInput(f"the password is too short: use at least {_MIN_PASSWORD} characters")
    return password


class Users:
    """The users in one database: add, list, rotate a token, remove, and check credentials."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def _db(self) -> Database:
        return self.runtime.db

    # -- managing users ----------------------------------------------------------------------------------

    def add(self, name: str, *, email: str | None = None, password: str | None = None) -> tuple[User, str]:
        """Add a user; returns the user and its new API token (shown this once, stored as a hash)."""
        check_name(name)
        if email is not None and not _EMAIL.match(email):
            raise BadInput(f"invalid email {email!r}: expected name@domain")
        password_hash = hash_password(check_password(password)) if password is not None else None
        token = new_token()
        now = utcnow()
        row: Row = {
            "id": name,
            "email": email.lower() if email else None,
            "password_hash": password_hash,
            "token_hash": token_hash(token),
            "nonce": secrets.token_hex(16),
            "created_at": now,
            "updated_at": now,
        }
        with self._db.transaction() as tx:
            if _get(tx, name) is not None:
                raise BadInput(
                    f"user {name!r} already exists; `batchctl users token {name} --rotate` issues a new token"
                )
            if (
                row["email"]
                and tx.execute("SELECT 1 FROM batch_user WHERE email = :email", {"email": row["email"]}).one_or_none()
            ):
                raise BadInput(f"another user already has the email {email!r}")
            columns = ", ".join(row)
            tx.execute(f"INSERT INTO batch_user ({columns}) VALUES ({', '.join(f':{c}' for c in row)})", row)
        return User.from_row(row), token

    def list(self) -> list[User]:
        """Every user, by name."""
        with self._db.transaction(write=False) as tx:
            return [User.from_row(row) for row in tx.execute("SELECT * FROM batch_user ORDER BY id").all()]

    def get(self, name: str) -> User:
        """One user (NotFound when there is none)."""
        with self._db.transaction(write=False) as tx:
            row = _get(tx, name)
        if row is None:
            raise NotFound(f"user {name!r} was not found; see `batchctl users list`")
        return User.from_row(row)

    def find(self, name: str) -> User | None:
        """One user, or None."""
        with self._db.transaction(write=False) as tx:
            row = _get(tx, name)
        return None if row is None else User.from_row(row)

    def rotate_token(self, name: str) -> str:
        """A new API token for ``name`` (printed once); the old one stops working at once."""
        token = new_token()
        with self._db.transaction() as tx:
            updated = tx.execute(
                "UPDATE batch_user SET token_hash = :hash, updated_at = :now WHERE id = :id",
                {"hash": token_hash(token), "now": utcnow(), "id": name},
            ).rowcount
        if updated != 1:
            raise NotFound(f"user {name!r} was not found; see `batchctl users list`")
        return token

    def set_password(self, name: str, password: str) -> None:
        """Set (or replace) ``name``'s password."""
        stored = hash_password(check_password(password))
        with self._db.transaction() as tx:
            updated = tx.execute(
                "UPDATE batch_user SET password_hash = :hash, updated_at = :now WHERE id = :id",
                {"hash": stored, "now": utcnow(), "id": name},
            ).rowcount
        if updated != 1:
            raise NotFound(f"user {name!r} was not found; see `batchctl users list`")

    def remove(self, name: str) -> None:
        """Remove a user: its token, password and sessions stop working at once (its jobs stay)."""
        with self._db.transaction() as tx:
            removed = tx.execute("DELETE FROM batch_user WHERE id = :id", {"id": name}).rowcount
        if removed != 1:
            raise NotFound(f"user {name!r} was not found; see `batchctl users list`")

    # -- checking credentials ------------------------------------------------------------------------------

    def by_token(self, token: str) -> User | None:
        """The user whose API token this is, or None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        wanted = token_hash(token)
        with self._db.transaction(write=False) as tx:
            row = tx.execute("SELECT * FROM batch_user WHERE token_hash = :hash", {"hash": wanted}).one_or_none()
        if row is None or not hmac.compare_digest(str(row["token_hash"]), wanted):
            return None
        return User.from_row(row)

    def by_password(self, email: str, password: str) -> User | None:
        """The user with this email and password, or None (as slow for an unknown email as for a wrong password)."""
        with self._db.transaction(write=False) as tx:
            row = tx.execute("SELECT * FROM batch_user WHERE email = :email", {"email": email.lower()}).one_or_none()
        if not verify_password(password, None if row is None else row["password_hash"]) or row is None:
            return None
        return User.from_row(row)

    def by_session(self, name: str, nonce: str) -> User | None:
        """The user a signed session names, if it still exists and is the same user (same nonce)."""
        user = self.find(name)
        if user is None or not hmac.compare_digest(user.nonce, nonce):
            return None
        return user

    def signing_secret(self) -> bytes:
        """The key sessions are signed with: ``BATCHCTL_JWT_SECRET``, else one generated once into the database."""
        configured = os.environ.get("BATCHCTL_JWT_SECRET")
        if configured:
            if len(configured) < 32:
                raise BadInput("BATCHCTL_JWT_SECRET must be at least 32 characters")
            return configured.encode()
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO batch_secret (name, value, created_at) VALUES ('jwt', :value, :now) "
                "ON CONFLICT (name) DO NOTHING",
                {"value": secrets.token_hex(32), "now": utcnow()},
            )
            value = tx.execute("SELECT value FROM batch_secret WHERE name = 'jwt'").scalar()
        return str(value).encode()


def _get(tx: Tx, name: str) -> Row | None:
    return tx.execute("SELECT * FROM batch_user WHERE id = :id", {"id": name}).one_or_none()
