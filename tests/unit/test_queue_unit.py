"""The wake-up queue's Huey: what it asks of its storage per wake-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchctl.config import Settings
from batchctl.queue import make_huey


@pytest.fixture
def huey(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The embedded (SQLite) queue of a fresh BATCHCTL_HOME."""
    monkeypatch.setenv("BATCHCTL_HOME", str(tmp_path))
    monkeypatch.delenv("BATCHCTL_DATABASE_URL", raising=False)
    monkeypatch.delenv("BATCHCTL_REDIS_URL", raising=False)
    return make_huey(Settings.from_env())


def test_a_wake_up_runs_without_revocation_lookups(huey: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    handled: list[tuple[str, str]] = []
    wake = huey.task(name="wake")(lambda event, job_id: handled.append((event, job_id)))
    storage_calls: list[str] = []
    for name in ("peek_data", "peek_many", "pop_data", "delete_data"):
        original = getattr(huey.storage, name)

        def spy(*args: Any, _name: str = name, _original: Any = original) -> Any:
            storage_calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(huey.storage, name, spy)

    wake("batch.created", "batch_x")
    huey.execute(huey.dequeue())

    assert handled == [("batch.created", "batch_x")]
    assert storage_calls == []  # Huey itself would read and delete a revocation flag per task


def test_the_embedded_queue_syncs_like_the_database(huey: Any) -> None:
    pragmas = [huey.storage.conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "synchronous")]
    assert pragmas == ["wal", 1]  # 1 = NORMAL; SQLite's default, FULL (2), syncs the disk at every commit
