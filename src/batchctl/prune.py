"""Deleting finished jobs with their events and files, and the partial files of jobs that stopped unheld."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from batchctl import files, jobrows
from batchctl.db import Database, Row, Tx, utcnow
from batchctl.files import FileStore, Role
from batchctl.jobrows import decode_row
from batchctl.lifecycle import TERMINAL, JobStatus

BATCH = 500
# A file record whose job row does not exist is a create that crashed between the copy and the job
# (files.py writes the record first), or one still copying: prune leaves it this long before removing it.
ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Pruned:
    """What a prune removed (or, in a dry run, would remove)."""

    job_ids: list[str]
    files: list[Path]


# Result fields that named files before batch_job_file existed (jobs made before migration 0008, and
# strategies that write a file without job.track_file): an export's output, an import's spool.
FILE_FIELDS = ("file_key", "ops_file")


def _result_files(row: Row, store: FileStore) -> list[Path]:
    """The files a job's result names, only those inside BATCHCTL_FILES: prune never deletes anything else."""
    found = []
    for field in FILE_FIELDS:
        value = (row.get("result") or {}).get(field)
        if not isinstance(value, str) or not value:
            continue
        key = store.key_of(value) if Path(value).is_absolute() else value
        try:
            path = store.path(key) if key is not None else None
        except ValueError:
            path = None
        if path is not None and not path.is_symlink() and path.is_file():
            found.append(path)
    return found


def _tracked_files(tx: Tx, store: FileStore, job_ids: list[str]) -> list[Path]:
    """The recorded files of these jobs, except one that another job still holds (an upload given to two)."""
    paths = []
    for record in files.files_of(tx, job_ids):
        path = store.path(record["key"])
        # lexists: a link put in the store is removed itself (unlink never follows it); a file the job
        # already removed (a completed import's spool) is not counted.
        if os.path.lexists(path) and not files.held_elsewhere(tx, record["key"], job_ids):
            paths.append(path)
    return paths


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
    Its done deliveries go with its events (``ON DELETE CASCADE``). The DELETE re-checks that each job
    is still finished and old enough (``jobrows.delete_finished``), so a job retried meanwhile stays, and
    only the files of the jobs really deleted go: their recorded files (batch_job_file) and the files
    their result names.
    """
    store = FileStore(files_dir)
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
            after = rows[-1]["id"]
            ids = [row["id"] for row in rows]
            if not dry_run:
                deleted = set(jobrows.delete_finished(tx, ids, statuses=TERMINAL, finished_before=finished_before))
                ids = [job_id for job_id in ids if job_id in deleted]
            paths = _tracked_files(tx, store, ids)
            paths += [path for row in rows if row["id"] in ids for path in _result_files(row, store)]
            doomed = list(dict.fromkeys(paths))
        # Files go after their jobs are gone, and their records after them: a crash in between leaves
        # records without a job, which the orphan pass below (of a later prune) finishes.
        if not dry_run and ids:
            for path in doomed:
                store.remove_path(path)
            with db.transaction() as tx:
                for record in files.files_of(tx, ids):
                    files.forget(tx, record["job_id"], [record["key"]])
        pruned_ids.extend(ids)
        pruned_files.extend(doomed)
    if not dry_run:
        pruned_files.extend(_prune_orphans(db, store, min(finished_before, utcnow() - ORPHAN_GRACE)))
    return Pruned(pruned_ids, pruned_files)


def _prune_orphans(db: Database, store: FileStore, before: datetime) -> list[Path]:
    """Remove the records (and the job's own copies) of jobs that do not exist, recorded before ``before``."""
    removed: list[Path] = []
    with db.transaction() as tx:
        orphans = tx.execute(
            "SELECT job_id, key FROM batch_job_file f WHERE created_at < :before "
            "AND NOT EXISTS (SELECT 1 FROM batch_job j WHERE j.id = f.job_id) ORDER BY job_id LIMIT :n",
            {"before": before, "n": BATCH},
        ).all()
        for orphan in orphans:
            # Only the job's own copy goes with it; an upload it was to be handed stays its user's.
            if orphan["key"].startswith(f"jobs/{orphan['job_id']}/") or orphan["key"] in (
                files.export_key(orphan["job_id"]),
                files.spool_key(orphan["job_id"]),
            ):
                if store.remove(orphan["key"]):
                    removed.append(store.path(orphan["key"]))
            files.forget(tx, orphan["job_id"], [orphan["key"]])
    return removed


# -- the partial files of jobs that stopped while no worker held them ----------------------------------------------

# What a stopped job loses at once: a canceled job its outputs and its working files, a failed job its
# outputs (a failed import keeps its spool, so that `retry` resumes from the checkpoint).
_SWEPT = ((JobStatus.CANCELED, (Role.OUTPUT, Role.SCRATCH)), (JobStatus.FAILED, (Role.OUTPUT,)))


def sweep_stopped(db: Database, store: FileStore, now: datetime, *, quiet: timedelta = timedelta(seconds=30)) -> int:
    """Remove the outputs (and working files) of canceled or failed jobs that no worker holds; how many.

    A worker that finds its job canceled removes them itself (``on_canceled``). This catches the rest:
    a job canceled while no worker held it (its worker died, it waited for a retry's backoff, or the
    cancel landed while its worker lost the lease), and an export that failed while a stalled worker
    still held its file. A job is left alone while any worker's heartbeat touched it within ``quiet``.
    Each job is handled in a write transaction that re-checks it (on PostgreSQL with the row locked),
    so a ``retry`` cannot put it back to work between the check and the unlink.
    """
    quiet_since = now - quiet
    removed = 0
    with db.transaction(write=False) as tx:
        candidates = []
        for status, roles in _SWEPT:
            placeholders, params = tx.in_list("role", [role.value for role in roles])
            candidates += tx.execute(
                "SELECT DISTINCT f.job_id FROM batch_job_file f JOIN batch_job j ON j.id = f.job_id "
                f"WHERE j.status = :status AND f.role IN ({placeholders}) AND j.updated_at < :quiet "
                "AND (j.lease_until IS NULL OR j.lease_until < :now) "
                "AND (j.heartbeat_at IS NULL OR j.heartbeat_at < :quiet) LIMIT 100",
                {**params, "status": status.value, "now": now, "quiet": quiet_since},
            ).all()
    for candidate in candidates:
        removed += _sweep_job(db, store, candidate["job_id"], now, quiet_since)
    return removed


def _sweep_job(db: Database, store: FileStore, job_id: str, now: datetime, quiet_since: datetime) -> int:
    with db.transaction() as tx:
        lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
        job = tx.execute(
            "SELECT status, result FROM batch_job WHERE id = :id AND updated_at < :quiet "
            "AND (lease_until IS NULL OR lease_until < :now) AND (heartbeat_at IS NULL OR heartbeat_at < :quiet)"
            f"{lock}",
            {"id": job_id, "now": now, "quiet": quiet_since},
        ).one_or_none()
        if job is None:
            return 0
        job = decode_row(job)
        roles = dict(_SWEPT).get(JobStatus(job["status"]), ())
        doomed = [record["key"] for record in files.files_of(tx, [job_id]) if record["role"] in roles]
        result = dict(job.get("result") or {})
        names = set()
        for key in doomed:
            store.remove(key)  # inside the transaction: the job cannot be retried until it commits
            names.update({key, str(store.path(key))})
        forgotten = {field: None for field, value in result.items() if isinstance(value, str) and value in names}
        if forgotten.get("file_key", "") is None and "file_size" in result:
            forgotten["file_size"] = None
        if forgotten:
            result.update(forgotten)
            jobrows.write_stopped_result(
                tx, job_id, status=job["status"], result=result, now=now, quiet_since=quiet_since
            )
        files.forget(tx, job_id, doomed)
        return len(doomed)
