"""`batchctl prune`: finished jobs older than the age go, with their events and files; nothing else does."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Backend


def count(backend: Backend, table: str) -> int:
    with backend.database().transaction(write=False) as tx:
        return int(tx.execute(f"SELECT COUNT(*) FROM {table}").scalar())


def test_prune_deletes_only_finished_jobs_past_the_age(backend: Backend) -> None:
    finished = backend.cli("create", "--type", "test-file", "-q").stdout.strip()
    waiting = backend.cli("create", "--type", "noop", "--dry-run", "-q").stdout.strip()
    assert backend.burst().code == 0
    shown = backend.cli("show", finished, "--json").json()
    assert shown["status"] == "completed"
    file = Path(shown["result"]["file_key"])
    assert file.exists()
    outside = backend.tmp / "not-ours.txt"
    outside.write_text("keep me")

    young = backend.cli("prune", "--older-than", "1h", "--json")
    assert young.code == 0 and young.json()["jobs"] == []

    preview = backend.cli("prune", "--older-than", "0s", "--dry-run", "--json").json()
    assert preview == {"dry_run": True, "jobs": [finished], "files": [str(file)]}
    assert file.exists() and count(backend, "batch_job") == 2

    events_before = count(backend, "batch_job_event")
    finished_events = len(backend.cli("events", finished, "--json").json())
    done = backend.cli("prune", "--older-than", "0s")
    assert done.code == 0 and done.stdout.strip() == "deleted 1 jobs and 1 files"
    assert not file.exists() and outside.exists()
    assert backend.cli("show", finished).code == 3
    assert backend.cli("show", waiting, "--json").json()["status"] == "pre_processed"
    assert count(backend, "batch_job_event") == events_before - finished_events


def test_prune_refuses_an_age_it_cannot_read(backend: Backend) -> None:
    refused = backend.cli("prune", "--older-than", "a month")
    assert refused.code == 2
    assert "use a number and a unit, like 90s, 15m, 12h or 30d" in refused.stderr
