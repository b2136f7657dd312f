"""Strategies used by the test suite (loaded through BATCHCTL_STRATEGIES)."""

from __future__ import annotations

import time
from typing import Any

from batchctl import BatchJobStrategy, Job, check_keys, positive_int

CHUNK_TABLE = (
    "CREATE TABLE IF NOT EXISTS test_chunk (job_id VARCHAR(40) NOT NULL, chunk INTEGER NOT NULL, "
    "PRIMARY KEY (job_id, chunk))"
)


class Failing(BatchJobStrategy):
    """Fails in process()."""

    batch_type = "test-fail"

    def pre_process(self, job: Job) -> None:
        job.set_count(3)

    def process(self, job: Job) -> None:
        job.advance(1)
        raise RuntimeError("boom: the strategy failed on purpose")


class Picky(BatchJobStrategy):
    """Refuses a context without a string 'name'."""

    batch_type = "test-picky"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(context.get("name"), str):
            raise ValueError("'name' is required and must be a string")
        return {"name": context["name"].strip()}


class AnyContext(BatchJobStrategy):
    """Takes any context as it is and does nothing with it: what gets stored is what the user gave."""

    batch_type = "test-any-context"


class BuggyPrepare(BatchJobStrategy):
    """A prepare with a bug: it reads a key the context may not have."""

    batch_type = "test-buggy-prepare"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"name": context["name"]}


class WithContextHelpers(BatchJobStrategy):
    """Checks its context with batchctl's helpers (context: size, required)."""

    batch_type = "test-context-helpers"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        check_keys(context, allowed=("size", "label"), required=("size",))
        return {"size": positive_int(context, "size", default=1), "label": str(context.get("label", ""))}


class Chunks(BatchJobStrategy):
    """Commits ``count`` chunks, each recorded in test_chunk in the same transaction as its progress."""

    batch_type = "test-chunks"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"count": int(context.get("count", 10)), "sleep": float(context.get("sleep", 0))}

    def pre_process(self, job: Job) -> None:
        try:
            with job.transaction() as tx:
                tx.execute(CHUNK_TABLE)
        except Exception:  # another job created it at the same moment (PostgreSQL races on IF NOT EXISTS)
            pass
        job.set_count(int(job.context["count"]))

    def process(self, job: Job) -> None:
        for chunk in range(job.checkpoint, int(job.context["count"])):
            time.sleep(float(job.context["sleep"]))
            with job.transaction() as tx:
                tx.execute(
                    "INSERT INTO test_chunk (job_id, chunk) VALUES (:job, :chunk)", {"job": job.id, "chunk": chunk}
                )
                job.advance(1)


class Flaky(BatchJobStrategy):
    """Fails its first ``failures`` attempts at processing, then succeeds; asks for retries."""

    batch_type = "test-flaky"
    max_attempts = 3

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        return {"failures": int(context.get("failures", 2))}

    def pre_process(self, job: Job) -> None:
        job.set_count(1)

    def process(self, job: Job) -> None:
        if job.attempt <= int(job.context["failures"]):
            raise ConnectionError(f"flaky failure on attempt {job.attempt}")
        job.advance(1)

    def should_retry(self, job: Job, error: Exception) -> bool:
        return isinstance(error, ConnectionError)


class WritesFile(BatchJobStrategy):
    """Writes one file under BATCHCTL_FILES and records it as the job's file."""

    batch_type = "test-file"

    def process(self, job: Job) -> None:
        job.files_dir.mkdir(parents=True, exist_ok=True)
        path = job.files_dir / f"{job.id}.txt"
        path.write_text("hello\n", encoding="utf-8")
        job.set_result(file_key=str(path), file_size=path.stat().st_size)


class Hostile(BatchJobStrategy):
    """Echoes \x1b]0;pwned\x07 its context's 'text' into what people read: a stat, and the error it fails with."""

    batch_type = "test-hostile"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        return dict(context)

    def pre_process(self, job: Job) -> None:
        text = str(job.context.get("text", ""))
        job.set_count(1)
        job.add_stat("echo", f"stat {text}", f"message {text}")

    def process(self, job: Job) -> None:
        raise RuntimeError(f"failed {job.context.get('text', '')}")
