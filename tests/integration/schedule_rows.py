"""Adding schedules and reading their tick rows and jobs, for the schedule tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Backend


def add_schedule(backend: Backend, name: str, *args: str) -> dict[str, Any]:
    """`schedule add NAME ARGS… --json`, which must succeed."""
    added = backend.cli("schedule", "add", name, *args, "--json")
    assert added.code == 0, added.stderr
    return added.json()


def tick_rows(backend: Backend, name: str) -> list[dict[str, Any]]:
    """The schedule's batch_schedule_tick rows, oldest tick first."""
    with backend.database().transaction(write=False) as tx:
        return tx.execute(
            "SELECT * FROM batch_schedule_tick WHERE schedule = :name ORDER BY tick_at", {"name": name}
        ).all()


def schedule_jobs(backend: Backend, name: str) -> list[dict[str, Any]]:
    """The jobs `list --schedule NAME --json` shows."""
    listed = backend.cli("list", "--schedule", name, "--limit", "1000", "--json")
    assert listed.code == 0, listed.stderr
    return listed.json()["batch_jobs"]
