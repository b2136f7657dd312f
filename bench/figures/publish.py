"""publish-products on N draft products against one raw ``UPDATE product SET status = 'published' ...``.

batchctl: a running `batchctl worker` and a publish-products job (not a dry run, default context); the
figure is the job's own ``completed_at - created_at`` (both written by batchctl on one clock), so it holds
the worker's pick-up, pre-processing (count, preview) and every committed chunk. Afterwards (untimed) no
draft may remain and the job must have counted N.
Baseline: one ``UPDATE`` of the same rows in one transaction over a plain sqlite3/psycopg connection with
batchctl's connection settings, on an identically seeded stage; timed from BEGIN to COMMIT.
Ratio: raw seconds / batchctl seconds. Seeding is set-up: plain SQL, before any clock, on fresh stages.
After the first timed job, on its stage and worker, N more drafts are seeded and one untimed job with
small chunks is canceled once it has committed progress: it must end canceled with some but not all of
them published and its advancement_count equal to the products it published (progress commits with each
chunk, an interrupted chunk rolls back); otherwise the figure raises.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from harness import Figure, Goal, Options, interleaved, progress, seconds_figure
from stages import REPO, Backend, Stage, patience, seconds_between, wait_for_job, warm_up

if TYPE_CHECKING:
    from batchctl.runtime import Runtime

GOAL = Goal(">=", 0.5)
# What the raw side runs (batchctl's strategy also stamps updated_at).
RAW_UPDATE = "UPDATE product SET status = 'published', updated_at = {now} WHERE status = 'draft'"
# Chunks per job in the cancel check: small chunks leave the job far from done when the cancel lands.
CANCEL_CHUNKS = 1000


def _now_sql(dialect: str) -> str:
    # The same text format batchctl writes on SQLite (naive UTC, fixed width, so text order is time order).
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')" if dialect == "sqlite" else "now()"


def _connect(stage: Stage) -> tuple[str, Any]:
    """A plain DB-API connection to the stage's database with the settings batchctl's own connections use."""
    from batchctl.db import parse_url

    dialect, target = parse_url(stage.database_url())
    if dialect == "sqlite":
        import sqlite3

        raw = sqlite3.connect(target, timeout=30.0, isolation_level=None)
        raw.execute("PRAGMA busy_timeout = 30000")
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute("PRAGMA foreign_keys = ON")
        return dialect, raw
    import psycopg

    # A worker's commits do not wait for the WAL flush (batchctl.db's checkpoint_commits); nor does this one.
    return dialect, psycopg.connect(target, autocommit=True, connect_timeout=5, options="-c synchronous_commit=off")


def _seed(stage: Stage, count: int, *, first: int = 1) -> None:
    """``count`` draft products numbered from ``first`` (the NOT NULL columns and a title), ids in insertion
    order like batchctl's ULIDs."""
    dialect, raw = _connect(stage)
    try:
        if dialect == "sqlite":
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(
                "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                "INSERT INTO product (id, handle, title, status, discountable, created_at, updated_at) "
                "SELECT printf('prod_%026d', i), printf('product-%d', i), printf('Shirt %d', i), 'draft', 1, "
                f"{_now_sql(dialect)}, {_now_sql(dialect)} FROM n",
                (first, first + count - 1),
            )
            raw.execute("COMMIT")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # both sides start with an empty WAL
        else:
            raw.execute(
                "INSERT INTO product (id, handle, title, status, discountable, created_at, updated_at) "
                "SELECT 'prod_' || lpad(i::text, 26, '0'), 'product-' || i, 'Shirt ' || i, 'draft', true, "
                "now(), now() FROM generate_series(%s::int, %s::int) AS i",
                (first, first + count - 1),
            )
            # What autovacuum does to a freshly loaded table soon enough: statistics and the visibility map.
            raw.execute("VACUUM ANALYZE product")
    finally:
        raw.close()


def _count(stage: Stage, status: str) -> int:
    dialect, raw = _connect(stage)
    try:
        mark = "?" if dialect == "sqlite" else "%s"
        row = raw.execute(f"SELECT COUNT(*) FROM product WHERE status = {mark}", (status,)).fetchone()
        return int(row[0])
    finally:
        raw.close()


def _publish(runtime: Runtime, context: dict[str, Any]) -> str:
    from batchctl.service import create_job

    job_id: str = create_job(runtime, "publish-products", context, dry_run=False)["id"]
    return job_id


def _check_published_all(stage: Stage, job: dict[str, Any], count: int) -> None:
    drafts = _count(stage, "draft")
    if drafts or job["count"] != count or job["advancement_count"] != count:
        raise RuntimeError(
            f"{stage.backend}: publish-products left {drafts} drafts, counted {job['count']} and "
            f"advanced {job['advancement_count']} of {count}"
        )


def _cancel_mid_way(stage: Stage, runtime: Runtime, count: int) -> str:
    """Seed ``count`` more drafts, publish them in small chunks and cancel the job once it has made progress."""
    from batchctl.service import cancel_job

    _seed(stage, count, first=count + 1)
    job_id = _publish(runtime, {"chunk_size": max(1, count // CANCEL_CHUNKS)})
    wait_for_job(
        runtime,
        job_id,
        until=lambda job: bool(job["advancement_count"]),
        waiting_for="a committed chunk, to cancel the job mid-way",
        timeout=patience(count, 0.001),
        poll=0.005,
    )
    cancel_job(runtime, job_id)
    return job_id


def _check_canceled(stage: Stage, runtime: Runtime, job_id: str, count: int) -> str:
    """The canceled job stopped part-way, with exactly its counted chunks applied; the note that says so."""
    from batchctl.service import get_job

    job = get_job(runtime, job_id)
    published = _count(stage, "published") - count  # the first ``count`` were the timed job's
    advanced = job["advancement_count"]
    if job["status"] != "canceled" or not 0 < published < count or advanced != published:
        raise RuntimeError(
            f"{stage.backend}: canceled publish-products ended {job['status']} with {published} of {count} "
            f"published and advancement_count {advanced}"
        )
    return f"{stage.backend} publish-products canceled mid-way: {published} of {count} published = advancement_count"


def _batchctl_round(stage: Stage, count: int, cancel_notes: list[str]) -> float:
    """The timed job; on the first round also the cancel check (after the clock, same worker)."""
    runtime = stage.runtime()
    canceled = None
    with stage.worker():
        warm_up(runtime)
        job_id = _publish(runtime, {})
        job = wait_for_job(runtime, job_id, ("completed",), timeout=patience(count, 0.001), poll=0.1)
        _check_published_all(stage, job, count)
        if not cancel_notes:
            canceled = _cancel_mid_way(stage, runtime, count)
    if canceled is not None:
        # The worker has stopped (SIGTERM waits for its chunk), so nothing it does can land after these reads.
        cancel_notes.append(_check_canceled(stage, runtime, canceled, count))
    runtime.db.discard_connection()
    return seconds_between(job, "created_at", "completed_at")


def _raw_round(stage: Stage, count: int) -> float:
    dialect, raw = _connect(stage)
    try:
        started = time.perf_counter()
        if dialect == "sqlite":
            raw.execute("BEGIN IMMEDIATE")
            updated = raw.execute(RAW_UPDATE.format(now=_now_sql(dialect))).rowcount
            raw.execute("COMMIT")
        else:
            with raw.transaction():
                updated = raw.execute(RAW_UPDATE.format(now=_now_sql(dialect))).rowcount
        seconds = time.perf_counter() - started
    finally:
        raw.close()
    if updated != count:
        raise RuntimeError(f"{stage.backend}: the raw UPDATE published {updated} of {count} drafts")
    return seconds


def publish_products(backend: Backend, options: Options) -> list[Figure]:
    count = options.products
    label = f"{backend.name} publish-products (N={count})"
    cancel_notes: list[str] = []

    def ours() -> float:
        with backend.stage(BATCHCTL_STRATEGIES=str(REPO / "strategies")) as stage:
            _seed(stage, count)
            seconds = _batchctl_round(stage, count, cancel_notes)
        progress(options, f"{label}: batchctl {seconds:.2f} s")
        return seconds

    def theirs() -> float:
        with backend.stage() as stage:
            _seed(stage, count)
            seconds = _raw_round(stage, count)
        progress(options, f"{label}: raw UPDATE {seconds:.2f} s")
        return seconds

    batchctl_seconds, raw_seconds = interleaved(options.scale_rounds, ours, theirs)
    name = f"publish-products, committed chunks (N={count})"
    return [seconds_figure(name, backend.name, batchctl_seconds, raw_seconds, GOAL, cancel_notes)]
