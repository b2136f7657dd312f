"""Making sure the database has batchctl's schema: the embedded default migrates itself on first use."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from batchctl.config import mask_url
from batchctl.db import Database
from batchctl.errors import BackendUnavailable

# The newest migration; tests/integration/test_migrations.py checks it is Alembic's head.
HEAD_REVISION = "0008"


def current_revision(db: Database) -> str | None:
    """The schema revision recorded in the database, or None for an empty database."""
    with db.transaction(write=False) as tx:
        if tx.dialect == "sqlite":
            exists = tx.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).scalar()
        else:
            exists = tx.execute("SELECT to_regclass('alembic_version') IS NOT NULL AS present").scalar()
        if not exists:
            return None
        revision = tx.execute("SELECT version_num FROM alembic_version").scalar()
        return str(revision) if revision is not None else None


def ensure_schema(db: Database) -> None:
    """Upgrade an embedded SQLite database in place; refuse a server database that is behind."""
    if current_revision(db) == HEAD_REVISION:
        return
    sqlite_path = db.sqlite_path
    if sqlite_path is None:
        raise BackendUnavailable(
            f"database {mask_url(db.url)} has no up-to-date batchctl schema; run `batchctl db upgrade`"
        )
    with _file_lock(sqlite_path.with_name(sqlite_path.name + ".migrate-lock")):
        # Another process may have migrated while we waited for the lock.
        if current_revision(db) != HEAD_REVISION:
            upgrade(db)


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
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
