"""Deleting finished jobs, their events and the files they wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from batchctl import jobrows
from batchctl.db import Database, Row
from batchctl.jobrows import decode_row
from batchctl.lifecycle import TERMINAL

BATCH = 500


@dataclass(frozen=True)
class Pruned:
    """What a prune removed (or, in a dry run, would remove)."""

    job_ids: list[str]
    files: list[Path]


# The result fields that name files a job wrote: an export's output, an import's spool of checked rows.
FILE_FIELDS = ("file_key", "ops_file")


def _owned_files(row: Row, files_dir: Path) -> list[Path]:
    """A job's files, only those inside BATCHCTL_FILES: prune never deletes anything else."""
    root = files_dir.resolve()
    found = []
    for field in FILE_FIELDS:
        key = (row.get("result") or {}).get(field)
        if not key:
            continue
        path = (files_dir / key).resolve()  # an absolute key stays itself
        if path.is_relative_to(root) and path.is_file():
            found.append(path)
    return found


# A job goes only once every subscriber is done with it: no delivery of it left to make (pending, in flight,
# or parked for a replay), and none of its events after a subscriber's cursor (not yet looked at).
_DELIVERED = (
    "NOT EXISTS (SELECT 1 FROM batch_delivery d WHERE d.job_id = batch_job.id AND d.status <> 'done') "
    "AND NOT EXISTS (SELECT 1 FROM batch_job_event e WHERE e.job_id = batch_job.id "
    "AND e.id > (SELECT COALESCE(MIN(s.cursor), e.id) FROM batch_subscriber s))"
)


def prune_finished(db: Database, *, finished_before: datetime, files_dir: Path, dry_run: bool) -> Pruned:
    """Remove jobs that ended (completed, failed, canceled) before ``finished_before``, in batches.

    A job some subscriber still has to hear about stays (see ``_DELIVERED``); a later prune takes it.
    Its done deliveries go with its events (``ON DELETE CASCADE``).
    """
    pruned_ids: list[str] = []
    pruned_files: list[Path] = []
    after = ""
    while True:
        with db.transaction(write=not dry_run) as tx:
            rows = [
                decode_row(row)
                for row in tx.execute(
                    f"SELECT id, result FROM batch_job WHERE status IN ({jobrows.in_statuses(TERMINAL)}) "
                    f"AND updated_at < :before AND id > :after AND {_DELIVERED} ORDER BY id LIMIT :n",
                    {"before": finished_before, "after": after, "n": BATCH},
                ).all()
            ]
            if not rows:
                break
            ids = [row["id"] for row in rows]
            after = ids[-1]
            files = [path for row in rows for path in _owned_files(row, files_dir)]
            if not dry_run:
                jobrows.delete_jobs(tx, ids)
        # Files go after their rows are gone: a crash in between leaves a stray file, never a job without its file.
        if not dry_run:
            for path in files:
                path.unlink(missing_ok=True)
        pruned_ids.extend(ids)
        pruned_files.extend(files)
    return Pruned(pruned_ids, pruned_files)
