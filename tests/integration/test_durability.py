"""How durable each connection's commits are: a worker's commits are checkpoints, the CLI's are not.

A worker may redo work from its last checkpoint, so on PostgreSQL it does not wait for the WAL flush; a
user's command (create, confirm, cancel) always does. SQLite runs WAL with synchronous = NORMAL for both.
"""

from __future__ import annotations

from batchctl.db import Database
from batchctl.worker import Worker
from tests.conftest import Backend


def _durability(database: Database) -> str:
    with database.transaction(write=False) as tx:
        if tx.dialect == "postgresql":
            return str(tx.execute("SHOW synchronous_commit").scalar())
        mode = tx.execute("PRAGMA journal_mode").scalar()
        level = tx.execute("PRAGMA synchronous").scalar()
        return f"{mode}/{level}"


def test_cli_commits_wait_for_the_disk_and_worker_commits_are_checkpoints(backend: Backend) -> None:
    url = backend.settings.database_url
    cli, worker = Database(url), Database(url, checkpoint_commits=True)
    try:
        if backend.name == "sqlite":
            assert _durability(cli) == _durability(worker) == "wal/1"  # 1 = NORMAL
        else:
            assert (_durability(cli), _durability(worker)) == ("on", "off")
    finally:
        cli.discard_connection()
        worker.discard_connection()


def test_a_worker_writes_through_checkpoint_connections(backend: Backend) -> None:
    worker = Worker(backend.settings)
    try:
        expected = "wal/1" if backend.name == "sqlite" else "off"
        assert _durability(worker.db) == expected
    finally:
        worker.db.discard_connection()
