"""Strategies for the fault-injection tests (loaded through BATCHCTL_STRATEGIES).

``test-fault`` leaves a trace of every step a worker commits, so that after workers have been killed at
random moments the test can tell from the database alone what was done, by which attempt, and how often.
"""

from __future__ import annotations

import time
from typing import Any

from batchctl import BatchJobStrategy, Job

# One row per pre-processing step a claim committed: 'started' right after the claim, 'done' at the very
# end, just before the worker writes the pre_processed transition. An interrupted pre-process stays
# visible as a 'started' (and maybe a 'done') row of an attempt that is not the one the job kept.
PRE_TABLE = (
    "CREATE TABLE IF NOT EXISTS test_fault_pre (job_id VARCHAR(40) NOT NULL, attempt INTEGER NOT NULL, "
    "stage VARCHAR(10) NOT NULL, PRIMARY KEY (job_id, attempt, stage))"
)
# One row per committed chunk. The primary key makes a chunk applied twice an IntegrityError, which
# fails the job loudly instead of hiding in a count; `attempt` says which claim committed it.
CHUNK_TABLE = (
    "CREATE TABLE IF NOT EXISTS test_fault_chunk (job_id VARCHAR(40) NOT NULL, chunk INTEGER NOT NULL, "
    "attempt INTEGER NOT NULL, PRIMARY KEY (job_id, chunk))"
)


class Fault(BatchJobStrategy):
    """A slow pre-process (heartbeats between steps) and ``count`` chunks, each recorded as it commits."""

    batch_type = "test-fault"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        return {
            "count": int(context.get("count", 20)),
            "sleep": float(context.get("sleep", 0.02)),
            "pre_steps": int(context.get("pre_steps", 5)),
            "pre_sleep": float(context.get("pre_sleep", 0.05)),
        }

    def pre_process(self, job: Job) -> None:
        try:
            with job.transaction() as tx:
                tx.execute(PRE_TABLE)
                tx.execute(CHUNK_TABLE)
        except Exception:  # another worker created them at the same moment (PostgreSQL races on IF NOT EXISTS)
            pass
        self._mark(job, "started")
        # Slow on purpose, in small steps, so that a kill can land in the middle of pre-processing;
        # the heartbeat keeps the lease of a live worker and checks for cancel.
        for _ in range(int(job.context["pre_steps"])):
            time.sleep(float(job.context["pre_sleep"]))
            job.heartbeat()
        job.set_count(int(job.context["count"]))
        job.set_result(pre_processed_by=job.attempt)
        self._mark(job, "done")

    def process(self, job: Job) -> None:
        for chunk in range(job.checkpoint, int(job.context["count"])):
            time.sleep(float(job.context["sleep"]))
            # The chunk row and its progress commit together: a resume starts exactly after the last one.
            with job.transaction() as tx:
                tx.execute(
                    "INSERT INTO test_fault_chunk (job_id, chunk, attempt) VALUES (:job, :chunk, :attempt)",
                    {"job": job.id, "chunk": chunk, "attempt": job.attempt},
                )
                job.advance(1)

    @staticmethod
    def _mark(job: Job, stage: str) -> None:
        # The heartbeat in the same transaction is guarded by this claim's lease: a worker that no
        # longer holds the job cannot leave a marker.
        with job.transaction() as tx:
            tx.execute(
                "INSERT INTO test_fault_pre (job_id, attempt, stage) VALUES (:job, :attempt, :stage)",
                {"job": job.id, "attempt": job.attempt, "stage": stage},
            )
            job.heartbeat()
