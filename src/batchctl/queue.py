"""The Huey instance that carries wake-ups: SQLite beside the database by default, Redis when configured."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from batchctl.config import Settings
from batchctl.db import parse_url
from batchctl.errors import BackendUnavailable
from batchctl.masking import driver_url, mask_text, mask_url, url_secrets


def queue_file(settings: Settings) -> Path:
    """Where the embedded queue lives: beside a SQLite database, else in the data dir."""
    dialect, target = parse_url(settings.database_url)
    if dialect == "sqlite":
        database = Path(target)
        return database.with_name(database.name + ".queue")
    return settings.data_dir / "queue.db"


log = logging.getLogger("batchctl.queue")
# Seconds a blocking Redis read waits: how fast a consumer notices a stop (SIGTERM), at the cost of an
# idle consumer thread's BRPOP every READ_TIMEOUT, which Redis does not notice.
READ_TIMEOUT = 0.25
MAX_OUTAGE_BACKOFF = 2.0


class _OutageTolerantDequeue:
    """Mixin for a Huey class: while the queue is down, a consumer waits and says so once, quietly.

    Huey's consumer would log a traceback at every poll (many per second) and spin; the database
    holds every job, so an unreachable queue only means waiting until it is back.
    """

    _outage_lock = threading.Lock()
    _outage_since: float | None = None
    outage: str | None = None  # what the last failed read said, while the queue is down

    def dequeue(self) -> Any:
        try:
            task = super().dequeue()  # type: ignore[misc]
        except Exception as error:
            with self._outage_lock:
                first = type(self)._outage_since is None
                if first:
                    type(self)._outage_since = time.monotonic()
                    type(self).outage = f"{type(error).__name__}: {error}"
                down_for = time.monotonic() - (type(self)._outage_since or 0.0)
            if first:
                log.warning("queue unavailable (%s: %s); waiting for it", type(error).__name__, error)
            time.sleep(min(MAX_OUTAGE_BACKOFF, 0.1 + down_for / 4))
            return None
        if type(self)._outage_since is not None:
            with self._outage_lock:
                if type(self)._outage_since is not None:
                    type(self)._outage_since = None
                    type(self).outage = None
                    log.warning("queue available again")
        return task


class _NoRevocation:
    """Mixin for a Huey class: skip the revocation lookups Huey makes around every task.

    batchctl never revokes a wake-up (a cancel is a status in the database, seen at the next
    ``advance``), yet Huey would read and then delete a revocation flag for each one: two queue round
    trips (on SQLite, a write transaction) per wake-up, for nothing.
    """

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> bool:
        return False


def make_huey(settings: Settings) -> Any:
    """A Huey that stores no results: the database holds every outcome, the queue only wakes workers."""
    if settings.redis_url:
        from huey import RedisHuey
        from redis import ConnectionPool

        class BatchctlRedisHuey(_NoRevocation, _OutageTolerantDequeue, RedisHuey):  # type: ignore[misc]
            pass

        # Timeouts on every socket: a half-open connection must fail, not hang a consumer forever.
        pool = ConnectionPool.from_url(
            driver_url(settings.redis_url),
            socket_connect_timeout=5,
            socket_timeout=READ_TIMEOUT + 10,
            health_check_interval=30,
        )
        # blocking: consumers wait on BRPOP, so a wake-up reaches an idle worker at once.
        return BatchctlRedisHuey(
            settings.queue_name, connection_pool=pool, results=False, blocking=True, read_timeout=READ_TIMEOUT
        )
    from huey import SqliteHuey
    from huey.storage import SqliteStorage

    class WakeUpStorage(SqliteStorage):  # type: ignore[misc]
        """Huey's SQLite queue, syncing the disk as batchctl's database does (WAL, synchronous NORMAL).

        Huey leaves SQLite's default, FULL: a disk sync for every enqueue and every dequeue. NORMAL
        cannot corrupt a WAL database; a power cut may only lose the last wake-ups, which the
        dispatcher sends again (the jobs themselves are in the database).
        """

        def _create_connection(self) -> Any:
            connection = super()._create_connection()
            connection.execute("PRAGMA synchronous = NORMAL")
            return connection

    class BatchctlSqliteHuey(_NoRevocation, _OutageTolerantDequeue, SqliteHuey):  # type: ignore[misc]
        storage_class = WakeUpStorage

    path = queue_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    return BatchctlSqliteHuey(settings.queue_name, filename=str(path), results=False)


def check_queue(settings: Settings, huey: Any) -> None:
    """Fail fast, with the URL masked, when the queue cannot be reached."""
    try:
        huey.pending_count()
    except Exception as error:
        where = mask_url(settings.redis_url) if settings.redis_url else str(queue_file(settings))
        raise BackendUnavailable(
            f"queue {where} is unavailable: {type(error).__name__}: {_safe(error, settings)}"
        ) from error


def _safe(error: BaseException, settings: Settings) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return mask_text(text, url_secrets(settings.redis_url)) if settings.redis_url else text
