"""Where things live in src/: rules about the code itself, checked on its text (no I/O beyond reading it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchctl import jobrows, leases, lifecycle
from batchctl.lifecycle import JobStatus

SRC = Path(__file__).resolve().parents[2] / "src" / "batchctl"

# A statement that writes the job table itself; batch_job_event (and any other batch_job_* table) is another.
WRITES_BATCH_JOB = re.compile(r"\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+batch_job(?!\w)", re.IGNORECASE)


def writers_of_batch_job() -> dict[str, list[str]]:
    """Each module of src/ (migrations aside) that writes batch_job, with the statements' openings."""
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith("migrations/"):
            continue  # the schema's history creates and alters the table
        hits = [match.group(0) for match in WRITES_BATCH_JOB.finditer(path.read_text())]
        if hits:
            found[relative] = hits
    return found


def test_the_pattern_tells_batch_job_from_batch_job_event() -> None:
    assert WRITES_BATCH_JOB.search("UPDATE batch_job SET status = :target")
    assert WRITES_BATCH_JOB.search('f"INSERT INTO batch_job ({columns})"')
    assert WRITES_BATCH_JOB.search("delete from batch_job where id = 1")
    assert not WRITES_BATCH_JOB.search("INSERT INTO batch_job_event (job_id) VALUES (1)")
    assert not WRITES_BATCH_JOB.search("DELETE FROM batch_job_event WHERE job_id = 1")
    assert not WRITES_BATCH_JOB.search("UPDATE batch_worker SET seen_at = :now")


def test_only_jobrows_writes_the_job_table() -> None:
    writers = writers_of_batch_job()
    assert set(writers) == {"jobrows.py"}, writers
    assert {hit.split()[0].upper() for hit in writers["jobrows.py"]} == {"INSERT", "UPDATE", "DELETE"}


def test_no_job_status_is_spelled_out_in_sql() -> None:
    """Status sets in SQL come from lifecycle's sets (jobrows.in_statuses), not literals that drift from them."""
    literals = re.compile("|".join(f"'{status.value}'" for status in JobStatus))
    spelled = {
        path.relative_to(SRC).as_posix(): literals.findall(path.read_text())
        for path in SRC.rglob("*.py")
        if not path.relative_to(SRC).as_posix().startswith("migrations/")
    }
    assert {module: found for module, found in spelled.items() if found} == {}


def test_status_lists_come_from_the_sets() -> None:
    assert jobrows.in_statuses(lifecycle.TERMINAL) == "'canceled', 'completed', 'failed'"
    assert jobrows.in_statuses(lifecycle.NEEDS_WORKER) == "'confirmed', 'created', 'processing'"
    with pytest.raises(ValueError, match="not a status"):
        jobrows.in_statuses(["created') OR ('1' = '1"])


def test_every_status_that_needs_a_worker_has_a_wake_up() -> None:
    assert set(leases.WAKE_EVENTS) == lifecycle.NEEDS_WORKER
    assert lifecycle.NEEDS_WORKER <= lifecycle.ACTIVE
