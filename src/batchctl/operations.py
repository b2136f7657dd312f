"""The operating use cases behind the client: workers, prune, schema upgrades, and the demo catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from batchctl.config import Settings
from batchctl.db import Database, utcnow
from batchctl.errors import BadInput
from batchctl.prune import Pruned, prune_finished
from batchctl.runtime import Runtime

__all__ = ["Pruned", "WorkerInfo", "count_products", "list_workers", "prune", "seed_products", "upgrade_schema"]


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process as its presence row records it."""

    id: str
    host: str
    pid: int
    concurrency: int
    queue: str
    queue_error: str | None
    started_at: str | None
    seen_at: str | None
    stopped_at: str | None

    @property
    def state(self) -> str:
        """``stopped``, ``queue down: …`` or ``ok``."""
        if self.stopped_at:
            return "stopped"
        return f"queue down: {self.queue_error}" if self.queue_error else "ok"

    def to_json(self) -> dict[str, object]:
        """The worker as ``workers --json`` prints it."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def list_workers(rt: Runtime, *, include_stopped: bool) -> list[WorkerInfo]:
    """Workers seen within two leases (or all of them, with ``include_stopped``), oldest first."""
    from batchctl import presence
    from batchctl.store import iso

    stale_after = timedelta(days=36500) if include_stopped else timedelta(seconds=2 * rt.settings.lease_seconds)
    with rt.db.transaction(write=False) as tx:
        rows = presence.live_workers(tx, now=utcnow(), stale_after=stale_after, include_stopped=include_stopped)
    return [
        WorkerInfo(
            id=row["id"],
            host=row["host"],
            pid=row["pid"],
            concurrency=row["concurrency"],
            queue=row["queue"],
            queue_error=row["queue_error"],
            started_at=iso(row["started_at"]),
            seen_at=iso(row["seen_at"]),
            stopped_at=iso(row["stopped_at"]),
        )
        for row in rows
    ]


def prune(rt: Runtime, *, older_than: timedelta, dry_run: bool) -> Pruned:
    """Delete jobs that ended longer than ``older_than`` ago, with their events and files."""
    try:
        finished_before = utcnow() - older_than
    except OverflowError:
        raise BadInput(f"an age of {older_than.days}d reaches before year 1; give a shorter age") from None
    return prune_finished(rt.db, finished_before=finished_before, files_dir=rt.settings.files_dir, dry_run=dry_run)


def upgrade_schema(settings: Settings) -> tuple[str | None, str]:
    """Apply every pending migration; the revision before and after (the same when already up to date)."""
    from batchctl.schema import HEAD_REVISION, upgrade_checked

    database = Database(settings.database_url)  # not the Runtime's: that one would refuse an old schema
    try:
        before = upgrade_checked(database)  # refuses a database that is not batchctl's, or newer
    finally:
        database.discard_connection()
    return before, HEAD_REVISION


def seed_products(rt: Runtime, count: int, *, variants: int) -> int:
    """Add ``count`` draft products with ``variants`` variants each to the demo catalog."""
    from batchctl.catalog.products import seed_products as seed

    with rt.db.transaction() as tx:
        return seed(tx, count, variants=variants)


def count_products(rt: Runtime, status: str | None) -> dict[str, int]:
    """The demo catalog's products per status (one status only, if given)."""
    from batchctl.catalog.products import count_products as count

    with rt.db.transaction(write=False) as tx:
        return count(tx, status)
