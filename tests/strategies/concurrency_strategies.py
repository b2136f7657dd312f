"""Strategies for the concurrency tests (loaded through BATCHCTL_STRATEGIES)."""

from __future__ import annotations

import os
import time
from typing import Any

from batchctl import BatchJobStrategy, Job
from batchctl.db import Tx

# No UNIQUE constraint on job_id on purpose: a job executed twice leaves two rows, so duplicates show.
RECORD_TABLE = {
    "sqlite": (
        "CREATE TABLE IF NOT EXISTS test_record (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "job_id VARCHAR(40) NOT NULL, pid INTEGER NOT NULL)"
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS test_record (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "job_id VARCHAR(40) NOT NULL, pid INTEGER NOT NULL)"
    ),
}


def create_record_table(tx: Tx) -> None:
    """Create the execution log (idempotent on one connection; see Record.pre_process for races)."""
    tx.execute(RECORD_TABLE[tx.dialect])


class Record(BatchJobStrategy):
    """One unit of work; process() logs one row per execution, with the worker's pid."""

    batch_type = "test-record"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"sleep": float(context.get("sleep", 0))}

    def pre_process(self, job: Job) -> None:
        try:
            with job.transaction() as tx:
                create_record_table(tx)
        except Exception:  # another worker created it at the same moment (PostgreSQL races on IF NOT EXISTS)
            pass
        job.set_count(1)

    def process(self, job: Job) -> None:
        # A little work, so that several workers really hold jobs at the same time.
        time.sleep(float(job.context["sleep"]))
        # Committed on its own, before and apart from the progress: a second execution by a worker
        # that lost (or never had) the job would leave its row even though its advance() is refused.
        with job.transaction() as tx:
            tx.execute("INSERT INTO test_record (job_id, pid) VALUES (:job, :pid)", {"job": job.id, "pid": os.getpid()})
        job.advance(1)
