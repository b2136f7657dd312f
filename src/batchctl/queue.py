"""The Huey instance that carries wake-ups: SQLite beside the database by default, Redis when configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batchctl.config import Settings, mask_url
from batchctl.db import parse_url
from batchctl.errors import BackendUnavailable


def queue_file(settings: Settings) -> Path:
    """Where the embedded queue lives: beside a SQLite database, else in the data dir."""
    dialect, target = parse_url(settings.database_url)
    if dialect == "sqlite":
        database = Path(target)
        return database.with_name(database.name + ".queue")
    return settings.data_dir / "queue.db"


def make_huey(settings: Settings) -> Any:
    """A Huey that stores no results: the database holds every outcome, the queue only wakes workers."""
    if settings.redis_url:
        from huey import RedisHuey

        # blocking: workers wait on BRPOP, so a wake-up reaches an idle worker at once.
        return RedisHuey(settings.queue_name, url=settings.redis_url, results=False, blocking=True, read_timeout=1)
    from huey import SqliteHuey

    path = queue_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=str(path), results=False)


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
    return mask_url(text) if settings.redis_url else text
