"""Backends going away while jobs run: the worker survives, jobs finish, no chunk is applied twice."""

from __future__ import annotations

import contextlib
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_ADMIN_URL, Backend, wait_until
from tests.integration.jobs import advanced, committed_chunks, show


@contextlib.contextmanager
def database_outage(backend: Backend, seconds: float) -> Iterator[None]:
    """Make the job database unusable for ``seconds``.

    PostgreSQL: refuse new connections to the database and cut the open ones (a real outage of that
    database only; the server keeps serving the other tests). SQLite: hold an exclusive lock, so every
    reader and writer waits, as they would on a stuck disk.
    """
    if backend.name == "postgres":
        name = backend.env["BATCHCTL_DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            try:
                yield
                time.sleep(seconds)
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        return
    path = backend.env["BATCHCTL_DATABASE_URL"].removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
        time.sleep(seconds)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_the_database_going_away_mid_job_never_half_applies_a_chunk(backend: Backend) -> None:
    env = {"BATCHCTL_LEASE_SECONDS": "2"}
    job_id = backend.cli("create", "--type", "test-chunks", "-c", "count=60", "-c", "sleep=0.03", "-q").stdout.strip()
    worker = backend.start_worker(env=env)
    wait_until(lambda: advanced(backend, job_id) >= 5)
    with database_outage(backend, seconds=3):
        pass
    assert worker.poll() is None, "the worker died with the database"
    assert backend.cli("wait", job_id, "--timeout", "90").code == 0
    final = show(backend, job_id)
    assert final["result"]["advancement_count"] == final["result"]["count"] == 60
    assert committed_chunks(backend, job_id) == list(range(60))
    assert worker.poll() is None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own, so stopping it disturbs no other test."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; .ci/run installs it")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, timeout=10)

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_redis_down_then_back_every_job_completes_with_no_command_run_by_hand(backend: Backend) -> None:
    redis = PrivateRedis(backend.tmp)
    redis.start()
    env = {"BATCHCTL_REDIS_URL": redis.url, "BATCHCTL_RECONCILE_INTERVAL": "2", "BATCHCTL_LEASE_SECONDS": "1.5"}
    try:
        backend.start_worker(env=env)
        before = backend.cli("create", "--type", "test-chunks", "-c", "count=3", "-q", env=env).stdout.strip()
        assert backend.cli("wait", before, "--timeout", "30", env=env).code == 0

        redis.stop()
        # The row is the truth: create still succeeds, and says the work waits for the queue once the
        # worker has reported the outage (its heartbeat runs every lease/3).
        warned = wait_until(
            lambda: (
                (r := backend.cli("create", "--type", "test-chunks", "-c", "count=3", "--json", env=env)).code == 0
                and "the queue is unavailable to every worker" in r.stderr
                and r
            ),
            timeout=20,
        )
        assert warned.stderr.startswith("warning: ") and warned.stderr.endswith("the job starts when it is back\n")
        created = [backend.cli("create", "--type", "test-chunks", "-c", "count=3", "-q", env=env) for _ in range(4)]
        assert all(result.code == 0 for result in created), [r.stderr for r in created]
        ids = [result.stdout.strip() for result in created] + [warned.json()["id"]]
        dry = backend.cli("create", "--type", "test-chunks", "-c", "count=3", "--dry-run", "-q", env=env).stdout.strip()
        time.sleep(1.0)
        redis.start()  # a fresh, empty Redis: every wake-up sent before is gone
        assert backend.cli("wait", dry, "--for", "pre_processed", "--timeout", "60", env=env).code == 0
        assert backend.cli("confirm", dry, "-q", env=env).code == 0
        for job_id in [*ids, dry]:
            assert backend.cli("wait", job_id, "--timeout", "60", env=env).code == 0
            assert committed_chunks(backend, job_id) == [0, 1, 2]
    finally:
        backend.stop_workers()
        redis.stop()
    # The outage is reported once, not once per poll.
    assert backend.worker_log.count("queue unavailable") <= 2, backend.worker_log[-2000:]


def test_create_warns_when_no_worker_runs_and_workers_lists_the_live_ones(backend: Backend) -> None:
    env = {"BATCHCTL_LEASE_SECONDS": "1.5"}
    alone = backend.cli("create", "--type", "noop", "--json", env=env)
    assert alone.code == 0
    assert alone.stderr == "warning: no worker is running; the job starts when `batchctl worker` runs\n"
    assert backend.cli("create", "--type", "noop", "-q", env=env).stderr == ""  # -q stays quiet

    worker = backend.start_worker("--concurrency", "3", env=env)
    listed = wait_until(lambda: backend.cli("workers", "--json", env=env).json()["workers"])
    [entry] = listed
    assert entry["pid"] == worker.pid and entry["concurrency"] == 3 and entry["queue_error"] is None
    with_worker = backend.cli("create", "--type", "noop", "--json", env=env)
    assert with_worker.code == 0 and with_worker.stderr == ""

    backend.stop_workers()
    assert backend.cli("workers", "--json", env=env).json()["workers"] == []
    [stopped] = backend.cli("workers", "--all", "--json", env=env).json()["workers"]
    assert stopped["stopped_at"] is not None
