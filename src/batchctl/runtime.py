"""What every entry point shares: the settings, the database and the strategy registry, each made on first use.

The CLI, the HTTP server, the worker and the public client all stand on one ``Runtime``. It is safe to share
between threads: the database hands each thread its own connection, and the lazily built parts are built once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from batchctl.config import Settings, default_database_url
from batchctl.db import Database

if TYPE_CHECKING:
    from batchctl.registry import Registry


@dataclass
class Runtime:
    """The settings plus the database and strategies, each made on first use."""

    settings: Settings
    checkpoint_commits: bool = False  # a worker's: see Database
    # Whether a missing database is made on first use (commands that create work) or refused with exit 5
    # (commands that only read, or need an existing job: a mistyped path must not look like "no jobs").
    create_database: bool = True
    _registry: Registry | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def db(self) -> Database:
        """The database, identified and its schema checked (embedded SQLite: made or upgraded) on first use."""
        from batchctl.schema import ensure_schema

        with self._lock:  # two threads asking at once must not both migrate
            if "db" in vars(self):
                return vars(self)["db"]  # type: ignore[no-any-return]
            database = Database(self.settings.database_url, checkpoint_commits=self.checkpoint_commits)
            ensure_schema(database, create=self.create_database, named_by=self._named_by())
            return database

    def _named_by(self) -> str:
        if self.settings.database_url == default_database_url(self.settings.data_dir):
            return "the default location; BATCHCTL_DATABASE_URL or BATCHCTL_HOME would move it"
        return "BATCHCTL_DATABASE_URL"

    def registry(self) -> Registry:
        """The strategy registry (imports every strategy; only the code paths that need it call this)."""
        with self._lock:
            if self._registry is None:
                from batchctl.registry import load_registry

                self._registry = load_registry(self.settings.strategy_paths)
            return self._registry

    def close(self) -> None:
        """Close this thread's database connection, if one was opened."""
        if "db" in vars(self):
            self.db.discard_connection()
