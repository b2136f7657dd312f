"""Making sure the database is batchctl's and has its schema: identified read-only first, then (SQLite) migrated.

Nothing here writes, locks or sets a pragma before ``identify`` has said what is at the URL: a mistyped
``BATCHCTL_DATABASE_URL`` pointing at another program's SQLite file (or at /dev/null, a directory, a text
file) is refused with the file left byte for byte as it was, and a read on a path where no database exists
is refused instead of making one and answering "no jobs".
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from batchctl.config import mask_url
from batchctl.db import SQLITE_LOCK_SECONDS, Database
from batchctl.errors import BackendUnavailable

# The newest migration; tests/integration/test_migrations.py checks it is Alembic's head.
HEAD_REVISION = "0008"


def known_revisions() -> frozenset[str]:
    """Every revision batchctl ships, from the migration files' names (``0007_subscribers.py`` is ``0007``).

    Read from the folder rather than through Alembic, whose import costs a short command more than the
    command itself; tests/integration/test_migrations.py checks the names match Alembic's revisions.
    """
    versions = Path(__file__).resolve().parent / "migrations" / "versions"
    return frozenset(path.name[:4] for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


_SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file

State = Literal["missing", "empty", "batchctl", "newer", "foreign", "not_sqlite", "not_a_file"]


@dataclass(frozen=True)
class Found:
    """What is at a database URL, as ``identify`` found it without writing anything."""

    state: State
    where: str  # the SQLite path, or "database URL" with the password masked
    revision: str | None = None  # batchctl's schema revision ("batchctl", "newer"); None while being made
    detail: str = ""  # what was found instead of a batchctl database, for the refusal
    fresh: str = "a new path"  # where batchctl could make its own database instead

    @property
    def is_current(self) -> bool:
        """A batchctl database at this code's revision: nothing to do."""
        return self.state == "batchctl" and self.revision == HEAD_REVISION

    @property
    def is_absent(self) -> bool:
        """No database yet (no file, or an empty one): what a command that creates may make."""
        return self.state in ("missing", "empty")

    def refusal(self) -> BackendUnavailable | None:
        """The error for a database batchctl must not touch (another program's, newer, not one), or None."""
        elsewhere = f"point BATCHCTL_DATABASE_URL at a batchctl database or {self.fresh}"
        if self.state == "newer":
            return BackendUnavailable(
                f"{self.where} has batchctl schema revision {self.revision}, newer than this batchctl "
                f"(which knows up to {HEAD_REVISION}); upgrade batchctl"
            )
        if self.state == "foreign":
            return BackendUnavailable(f"{self.where} is not a batchctl database ({self.detail}); {elsewhere}")
        if self.state == "not_sqlite":
            return BackendUnavailable(f"{self.where} is not a SQLite database ({self.detail}); {elsewhere}")
        if self.state == "not_a_file":
            return BackendUnavailable(f"{self.where} is not a regular file ({self.detail}); {elsewhere}")
        return None


def identify(db: Database) -> Found:
    """What is at ``db``'s URL, read-only: no file, lock file, WAL switch or pragma on SQLite; SELECTs on PostgreSQL."""
    path = db.sqlite_path
    if path is None:
        return _identify_postgres(db)
    return _identify_sqlite(db, path)


def _identify_sqlite(db: Database, path: Path) -> Found:
    where = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return Found("missing", where)
    except NotADirectoryError:
        return Found("not_a_file", where, detail="a part of the path before it is a file, not a directory")
    except OSError as error:
        raise db.unavailable(error) from error
    if not stat.S_ISREG(info.st_mode):
        return Found("not_a_file", where, detail=f"it is {_file_kind(info.st_mode)}")
    if info.st_size == 0:
        return Found("empty", where)  # what SQLite itself takes for an empty database
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except OSError as error:
        raise db.unavailable(error) from error
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return Found("not_sqlite", where, detail="it does not start with the SQLite header")
    # A read-only connection to a WAL database makes -wal and -shm files beside it (and leaves them) unless
    # they exist already; with no -wal file everything is in the main file, so read it as immutable then.
    wal_mode = header[18] == 2
    mode = "immutable=1" if wal_mode and not path.with_name(path.name + "-wal").exists() else "mode=ro"
    uri = f"file:{quote(str(path.absolute()))}?{mode}"
    try:
        raw = sqlite3.connect(uri, uri=True, timeout=SQLITE_LOCK_SECONDS, isolation_level=None)
        try:
            names = [row[0] for row in raw.execute(_SQLITE_OBJECTS)]
            versions = _versions(raw, names)
        finally:
            raw.close()
    except sqlite3.DatabaseError as error:
        message = str(error).lower()
        if "not a database" in message or "malformed" in message:
            return Found("not_sqlite", where, detail=str(error))
        raise db.unavailable(error) from error  # locked, unreadable, a disk I/O error: not the file's kind
    return _classify(where, names, versions)


_SQLITE_OBJECTS = (
    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
)


def _versions(raw: Any, names: Sequence[str]) -> list[str] | None:
    if "alembic_version" not in names:
        return None
    return [str(row[0]) for row in raw.execute("SELECT version_num FROM alembic_version").fetchall()]


def _identify_postgres(db: Database) -> Found:
    where = f"database {mask_url(db.url)}"
    with db.transaction(write=False) as tx:
        present = tx.execute(
            "SELECT to_regclass('alembic_version') IS NOT NULL AS versions,"
            " to_regclass('batch_job') IS NOT NULL AS jobs"
        ).one_or_none()
        assert present is not None
        versions = None
        if present["versions"]:
            versions = [str(row["version_num"]) for row in tx.execute("SELECT version_num FROM alembic_version").all()]
        if versions == [HEAD_REVISION] and present["jobs"]:
            return Found("batchctl", where, HEAD_REVISION)  # the everyday case, without listing every table
        names = [
            str(row["name"])
            for row in tx.execute(
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).all()
        ]
    return replace(_classify(where, names, versions), fresh="an empty database")


def _classify(where: str, names: Sequence[str], versions: list[str] | None) -> Found:
    """The one rule for both databases, from the tables (and views) and the alembic_version rows."""
    if not names:
        return Found("empty", where)
    others = sorted(set(names) - {"alembic_version"})
    if versions is None:
        return Found("foreign", where, detail=f"it holds tables: {_some(others)}")
    if not versions:
        # batchctl writes alembic_version's row in the transaction that makes its tables: an empty
        # alembic_version beside other tables is another program's; alone, it is as good as empty.
        if others:
            return Found("foreign", where, detail=f"it holds tables: {_some(others)}")
        return Found("batchctl", where)
    if len(versions) > 1:
        return Found("foreign", where, detail=f"its alembic_version holds {_some(versions)}, not one revision")
    revision = versions[0]
    if "batch_job" in names and (revision == HEAD_REVISION or revision in known_revisions()):
        return Found("batchctl", where, revision)
    if "batch_job" in names and revision.isdigit() and len(revision) == 4 and revision > HEAD_REVISION:
        return Found("newer", where, revision)
    tables = f"; it holds tables: {_some(others)}" if others else ""
    return Found("foreign", where, detail=f"its alembic_version is {revision!r}, not a batchctl revision{tables}")


def _some(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def no_database(found: Found, named_by: str) -> BackendUnavailable:
    """The refusal of a command that only reads, where no database exists (it must not look like "no jobs")."""
    what = "" if found.state == "missing" else ", only an empty file"
    return BackendUnavailable(
        f"no batchctl database at {found.where} ({named_by}{what}); "
        'create a job or run "batchctl db upgrade" to make one'
    )


def ensure_schema(db: Database, *, create: bool = True, named_by: str = "BATCHCTL_DATABASE_URL") -> None:
    """Check the database is batchctl's; upgrade an embedded SQLite one in place; refuse a server one that is behind.

    ``create``: make the database when there is none (no file, or an empty one); otherwise refuse with exit 5
    and make nothing, not even its folder. ``named_by``: where the URL came from, for that refusal.
    """
    found = identify(db)
    if found.is_current:
        return
    _refuse(found)
    sqlite_path = db.sqlite_path
    if sqlite_path is None:
        raise BackendUnavailable(
            f"database {mask_url(db.url)} has no up-to-date batchctl schema; run `batchctl db upgrade`"
        )
    if found.is_absent and not create:
        raise no_database(found, named_by)
    upgrade_checked(db, found)


def upgrade_checked(db: Database, found: Found | None = None) -> str | None:
    """Apply every pending migration to a database identified as batchctl's (or absent); the revision before.

    ``found``: what ``identify`` said of it just now, if the caller asked already. On SQLite under a lock
    file beside the database, so that two processes making it do not both migrate.
    """
    found = found or identify(db)
    _refuse(found)  # before the lock file: nothing may appear beside a file that is not ours
    sqlite_path = db.sqlite_path
    if sqlite_path is None:
        upgrade(db)
        return found.revision
    if found.is_current:
        return found.revision
    with _file_lock(db, sqlite_path.with_name(sqlite_path.name + ".migrate-lock")):
        # Identified again under the lock: another process may have migrated while we waited for it.
        found = identify(db)
        _refuse(found)
        if not found.is_current:
            upgrade(db)
        return found.revision


def _refuse(found: Found) -> None:
    refused = found.refusal()
    if refused is not None:
        raise refused


def upgrade(db: Database) -> None:
    """Apply every pending migration (idempotent)."""
    from batchctl.migrations.runner import upgrade_to_head

    db.discard_connection()  # Alembic opens its own connection; SQLite must not see ours mid-transaction.
    try:
        upgrade_to_head(db.url)
    except BackendUnavailable:
        raise
    except Exception as error:
        raise db.unavailable(error) from error


@contextmanager
def _file_lock(db: Database, path: Path) -> Iterator[None]:
    import fcntl

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as error:  # a read-only folder, a full disk: the backend's problem, said in one line
        raise db.unavailable(error) from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
