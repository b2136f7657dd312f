"""Connections to SQLite or PostgreSQL over plain DB-API, with SQL written once in ``:name`` style.

Why not SQLAlchemy here: ``batchctl show`` runs in shell loops and importing SQLAlchemy (and
SQLModel's Pydantic) costs more than the whole command may. sqlite3 and psycopg are cheap, and the
SQL batchctl needs is small enough to write by hand. SQLAlchemy/Alembic still own the schema.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

from batchctl.errors import BackendUnavailable, BadInput, DiskFull
from batchctl.masking import driver_url, mask_text, mask_url, password_of, url_secrets

Dialect = Literal["sqlite", "postgresql"]
Row = dict[str, Any]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_datetime(value: Any) -> datetime | None:
    """A timestamp read from either database as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's own SQLite format (naive UTC, fixed width), so that text comparison orders by time.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# The ``:name`` parameters of batchctl's SQL (not ``::type`` casts, not ``a:b`` inside words).
NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=512)
def _to_pyformat(sql: str) -> str:
    return NAMED_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Result:
    """The rows of one statement, as dicts."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor
        self.rowcount: int = cursor.rowcount

    def one_or_none(self) -> Row | None:
        row = self._cursor.fetchone()
        return None if row is None else dict(row)

    def all(self) -> list[Row]:
        return [dict(row) for row in self._cursor.fetchall()]

    def scalar(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            return None
        return next(iter(dict(row).values()))


class Tx:
    """One open transaction; ``execute`` takes SQL with ``:name`` parameters on both databases."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self._raw = raw
        self.dialect: Dialect = dialect

    def _adapt(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if not params:
            return {}
        if self.dialect == "sqlite":
            return {key: _adapt_sqlite(value) for key, value in params.items()}
        return {key: _adapt_postgres(value) for key, value in params.items()}

    def _sql(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else _to_pyformat(sql)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run one statement in this transaction."""
        cursor = self._raw.cursor()
        cursor.execute(self._sql(sql), self._adapt(params))
        return Result(cursor)

    def executemany(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Run one statement for each parameter set (bulk insert/update)."""
        cursor = self._raw.cursor()
        cursor.executemany(self._sql(sql), [self._adapt(row) for row in rows])

    def in_list(self, prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """What goes inside ``IN (...)`` to match ``values``, and its parameters.

        Up to ``LONG_IN_LIST`` values: one placeholder each. More (an export of 70,000 handles): ONE
        parameter holding them as a JSON array, unpacked by the database. One parameter per value would
        exceed PostgreSQL's 65,535 bind parameters, and sqlite3 looks each named parameter up by a linear
        scan, so binding thousands is quadratic (minutes holding the write lock). Lists of str or of
        int only; a mixed list keeps the placeholders.
        """
        kind = _element_kind(values) if len(values) > LONG_IN_LIST else None
        if kind is None:
            names = [f"{prefix}{i}" for i in range(len(values))]
            return ", ".join(f":{name}" for name in names), dict(zip(names, values, strict=True))
        name = f"{prefix}_json"
        param = {name: json.dumps(list(values), separators=(",", ":"))}
        if self.dialect == "sqlite":
            return f"SELECT value FROM json_each(:{name})", param
        element = "CAST(value AS bigint)" if kind is int else "value"
        return f"SELECT {element} FROM jsonb_array_elements_text(CAST(:{name} AS jsonb)) AS value", param

    # -- bulk rows as tuples, straight to the driver (see catalog/bulk.py for why) -------------------------

    @property
    def mark(self) -> str:
        """The driver's positional placeholder: ``?`` on SQLite, ``%s`` on PostgreSQL."""
        return "?" if self.dialect == "sqlite" else "%s"

    def timestamp(self, moment: datetime) -> Any:
        """``moment`` as the driver takes it for a timestamp column (SQLite stores text)."""
        return _sqlite_datetime(moment) if self.dialect == "sqlite" else moment

    def positional(self, sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """SQL with ``:name`` parameters as SQL with ``mark`` placeholders and the values in their order."""
        adapted = self._adapt(params)
        names: list[str] = []

        def placeholder(match: re.Match[str]) -> str:
            names.append(match.group(1))
            return self.mark

        converted = NAMED_PARAMETER.sub(placeholder, sql)
        return converted, [adapted[name] for name in names]

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT ``rows`` (tuples in ``columns`` order, values as the driver takes them) into ``table``."""
        if self.dialect == "postgresql":
            # COPY: several times faster than executemany's one INSERT per row, in the same transaction.
            with self._raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["?"] * len(columns))
        self._raw.cursor().executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def executemany_positional(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``sql`` (with ``mark`` placeholders) once for each tuple of values."""
        self._raw.cursor().executemany(sql, rows)

    def select_tuples(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (with ``mark`` placeholders), as tuples."""
        if self.dialect == "sqlite":
            cursor = self._raw.cursor()
            cursor.row_factory = None  # the connection's sqlite3.Row would cost a conversion per row
            cursor.execute(sql, params)
        else:
            from psycopg.rows import tuple_row

            cursor = self._raw.cursor(row_factory=tuple_row)  # the connection's default makes dicts
            # Never prepared: a generic plan does not see the values, and chooses badly for long lists of them.
            cursor.execute(sql, params, prepare=False)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


LONG_IN_LIST = 100  # values beyond which ``Tx.in_list`` passes one JSON array instead of a parameter each


def _element_kind(values: Sequence[Any]) -> type[int] | type[str] | None:
    """``str`` or ``int`` when every value is one (bools are not ints here), else None."""
    if all(isinstance(value, str) for value in values):
        return str
    if all(isinstance(value, int) and not isinstance(value, bool) and -(2**63) < value < 2**63 for value in values):
        return int
    return None


def _adapt_sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return _sqlite_datetime(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return value


def _adapt_postgres(value: Any) -> Any:
    if isinstance(value, dict | list):
        from psycopg.types.json import Jsonb

        return Jsonb(value)
    return value


POSTGRES_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")


def postgres_address(url: str) -> str | None:
    """What follows the scheme of a PostgreSQL URL in any spelling batchctl takes, or None for another URL."""
    for scheme in POSTGRES_SCHEMES:
        if url.startswith(scheme):
            return url[len(scheme) :]
    return None


def parse_url(url: str) -> tuple[Dialect, str]:
    """Split a database URL into its dialect and what the driver connects to."""
    if url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
        if path.startswith("/"):
            path = path[1:]  # sqlite:///relative, sqlite:////absolute
        if not path or path == ":memory:":
            raise BadInput("BATCHCTL_DATABASE_URL: an in-memory SQLite database cannot be shared; use a file")
        return "sqlite", path
    address = postgres_address(url)
    if address is not None:
        if "\x00" in (password_of(url) or ""):  # libpq takes C strings: it would refuse it, quoting it
            raise BadInput(f"BATCHCTL_DATABASE_URL {mask_url(url)!r}: a PostgreSQL password cannot contain NUL")
        return "postgresql", driver_url("postgresql://" + address)
    raise BadInput(
        f"BATCHCTL_DATABASE_URL {mask_url(url)!r} is not supported; "
        "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"
    )


class Database:
    """A connection factory for one database; one connection per thread, reused."""

    def __init__(self, url: str, *, checkpoint_commits: bool = False) -> None:
        """``checkpoint_commits``: this process's commits are checkpoints of work it can redo (a worker's).

        On PostgreSQL they then skip waiting for the WAL flush (``synchronous_commit = off``): a crash of
        the database server may undo the last few hundred milliseconds of them, each transaction whole,
        which leaves a job at an earlier checkpoint that its next lease resumes from. Nothing else is
        lost: the first synchronous commit after them (any CLI write) flushes them too. SQLite's WAL with
        ``synchronous = NORMAL`` makes the same trade on power loss.
        """
        self.url = url
        self.checkpoint_commits = checkpoint_commits
        self.dialect, self._target = parse_url(url)
        self._local = threading.local()

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        return Path(self._target) if self.dialect == "sqlite" else None

    def unavailable(self, error: BaseException) -> BackendUnavailable:
        """The error to raise when the database cannot be used, with the password masked."""
        if is_disk_full(error) or self._io_error_on_a_full_disk(error):
            holding = self._target if self.dialect == "sqlite" else f"the database {mask_url(self.url)}"
            return DiskFull(f"the disk holding {holding} is full; free some space and run the command again")
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        detail = mask_text(detail, url_secrets(self.url))
        return BackendUnavailable(f"database {mask_url(self.url)} is unavailable: {detail}")

    def _io_error_on_a_full_disk(self, error: BaseException) -> bool:
        # SQLite says only "disk I/O error" when writing its -wal or -shm file fails; sqlite3 does not pass on
        # the errno, so look at the file system: nearly no space left there means that was the cause.
        if self.dialect != "sqlite" or not isinstance(error, sqlite3.Error):
            return False
        if getattr(error, "sqlite_errorcode", 0) & 0xFF != 10:  # SQLITE_IOERR
            return False
        try:
            disk = os.statvfs(Path(self._target).absolute().parent)
        except OSError:
            return False
        return disk.f_bavail * disk.f_frsize < _NEARLY_FULL_BYTES

    def _connect(self) -> Any:
        try:
            if self.dialect == "sqlite":
                return _connect_sqlite(Path(self._target))
            import psycopg
            from psycopg.rows import dict_row

            options = "-c synchronous_commit=off" if self.checkpoint_commits else ""
            return psycopg.connect(
                self._target, autocommit=True, row_factory=dict_row, connect_timeout=5, options=options
            )
        except (sqlite3.Error, OSError) as error:
            raise self.unavailable(error) from error
        except Exception as error:
            if _is_postgres_error(error):
                raise self.unavailable(error) from error
            raise

    def _connection(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is None:
            raw = self._connect()
            self._local.raw = raw
        return raw

    def discard_connection(self) -> None:
        """Close this thread's connection (after an error, or before a fork)."""
        raw = getattr(self._local, "raw", None)
        self._local.raw = None
        if raw is not None:
            try:
                raw.close()
            except Exception:  # the connection is already broken; nothing left to release
                pass

    @contextmanager
    def transaction(self, *, write: bool = True, one_write_on_postgres: bool = False) -> Iterator[Tx]:
        """Open a transaction; commit on success, roll back on any exception.

        SQLite write transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on the
        busy timeout instead of one failing with "database is locked" when it upgrades its lock.

        ``one_write_on_postgres``: the caller promises that on PostgreSQL it writes with at most one
        statement (reads may follow). That statement is then its own transaction, without the BEGIN
        and COMMIT round trips; a worker's claim and its last transition are such statements.
        """
        raw = self._connection()
        try:
            if self.dialect == "sqlite":
                raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield Tx(raw, "sqlite")
                except BaseException:
                    # SQLite may have rolled back already (a full disk, an I/O error): a second ROLLBACK
                    # would fail with "cannot rollback" and hide the error that matters.
                    if raw.in_transaction:
                        raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
            elif one_write_on_postgres:
                yield Tx(raw, "postgresql")  # the connection autocommits each statement
            else:
                with raw.transaction():
                    yield Tx(raw, "postgresql")
        except sqlite3.DatabaseError as error:
            if not _is_sqlite_unavailable(error):
                raise  # a constraint or an SQL mistake: the caller's error, not the backend's
            self.discard_connection()
            raise self.unavailable(error) from error
        except Exception as error:
            if is_postgres_connection_failure(error, raw):
                self.discard_connection()
                raise self.unavailable(error) from error
            if is_disk_full(error):  # PostgreSQL's disk_full (53100): the connection is fine, the server is not
                raise self.unavailable(error) from error
            raise


# How long every SQLite connection of batchctl's (jobs, identification, migrations) waits for a lock.
SQLITE_LOCK_SECONDS = 30.0


def _connect_sqlite(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: the driver never opens transactions behind our back; we BEGIN ourselves.
    raw = sqlite3.connect(path, timeout=SQLITE_LOCK_SECONDS, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    raw.execute(f"PRAGMA busy_timeout = {int(SQLITE_LOCK_SECONDS * 1000)}")
    mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        raw.execute("PRAGMA journal_mode = WAL")
    raw.execute("PRAGMA synchronous = NORMAL")
    raw.execute("PRAGMA foreign_keys = ON")
    return raw


_SQLITE_UNAVAILABLE = (
    "locked",
    "busy",
    "unable to open",
    "disk i/o",
    "not a database",
    "disk image is malformed",  # not "malformed JSON", which is a statement's own error
    "readonly",
    "disk is full",
)


def _is_sqlite_unavailable(error: sqlite3.DatabaseError) -> bool:
    message = str(error).lower()
    return any(marker in message for marker in _SQLITE_UNAVAILABLE)


_NEARLY_FULL_BYTES = 256 * 1024  # less free space than a few WAL frames need
_ENOSPC_ERRNOS = {28, 122}  # ENOSPC, EDQUOT (a full quota looks the same to the user)


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps: SQLAlchemy's ``orig``, the cause) says the disk is full.

    SQLITE_FULL ("database or disk is full"), ENOSPC, and PostgreSQL's disk_full (53100, "could not extend
    file ... No space left on device").
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _ENOSPC_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error) and getattr(current, "sqlite_errorcode", 0) & 0xFF == 13:
            return True  # SQLITE_FULL, with any extended code
        if getattr(current, "sqlstate", None) == "53100":
            return True
        message = str(current).lower()
        if any(marker in message for marker in _DISK_FULL_MARKERS):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return False


_DISK_FULL_MARKERS = ("database or disk is full", "no space left on device", "could not extend file", "disk full")


def _is_postgres_error(error: BaseException) -> bool:
    return type(error).__module__.startswith("psycopg")


# SQLSTATEs of a lost server: class 08 (connection exception) and 57P01-57P03 (admin/crash shutdown,
# cannot connect now). Everything else (a statement too big, a value out of range, a query canceled by
# its timeout) is the statement's error: the same statement fails the same way when the server is fine.
_CONNECTION_SQLSTATES = ("57P01", "57P02", "57P03")
_CONNECTION_MESSAGES = (
    "connection refused",
    "server closed the connection",
    "connection is closed",
    "connection is lost",
    "terminating connection",
    "could not connect",
    "could not receive data",
    "could not send data",
    "connection timed out",
    "timeout expired",
    "no connection to the server",
    "ssl syscall error",
    "the connection is closed",
)


def is_postgres_connection_failure(error: BaseException, raw: Any = None) -> bool:
    """Whether a psycopg error means the server or the connection to it is gone (an outage, retried later).

    ``raw``: the connection the error came from; a broken or closed one is an outage whatever the error.
    psycopg raises OperationalError both for a dropped connection and for a statement libpq refuses to
    send (more than 65,535 parameters), so the class alone does not tell them apart.
    """
    if not _is_postgres_error(error):
        return False
    import psycopg

    if not isinstance(error, psycopg.Error):
        return False
    sqlstate = error.sqlstate or ""
    if sqlstate.startswith("08") or sqlstate in _CONNECTION_SQLSTATES:
        return True
    if not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    if raw is not None and (getattr(raw, "broken", False) or getattr(raw, "closed", False)):
        return True
    if sqlstate:
        return False  # the server answered with a statement's error
    message = str(error).lower()
    return any(marker in message for marker in _CONNECTION_MESSAGES)
