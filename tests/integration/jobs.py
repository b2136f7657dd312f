"""Reading jobs and the test-chunks strategy's committed chunks, for the integration tests."""

from __future__ import annotations

from tests.conftest import Backend


def show(backend: Backend, job_id: str) -> dict:
    """The job as `show --json` prints it."""
    return backend.cli("show", job_id, "--json").json()


def advanced(backend: Backend, job_id: str) -> int:
    """The job's committed advancement_count."""
    return int((show(backend, job_id)["result"] or {}).get("advancement_count", 0))


def committed_chunks(backend: Backend, job_id: str) -> list[int]:
    """The chunks test-chunks committed for the job, in order."""
    with backend.database().transaction(write=False) as tx:
        rows = tx.execute("SELECT chunk FROM test_chunk WHERE job_id = :id ORDER BY chunk", {"id": job_id}).all()
    return [row["chunk"] for row in rows]
