"""Shared fixtures: a fresh backend per test, parametrised over the embedded default and PostgreSQL + Redis.

``backend`` gives each test its own database (a SQLite file, or a PostgreSQL database cloned from a
migrated template) and its own queue (a SQLite file, or a Redis queue name), so tests never collide,
also under pytest-xdist. Set BATCHCTL_TEST_BACKENDS=sqlite to run only the embedded one; by default
both run and an unreachable PostgreSQL or Redis is an error, not a skip.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from batchctl.config import Settings
from batchctl.db import Database

REPO = Path(__file__).resolve().parent.parent
STRATEGIES = REPO / "strategies"
TEST_STRATEGIES = Path(__file__).resolve().parent / "strategies"
PG_ADMIN_URL = os.environ.get("BATCHCTL_TEST_POSTGRES", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATCHCTL_TEST_REDIS", "redis://127.0.0.1:6379/0")
BACKENDS = [b for b in os.environ.get("BATCHCTL_TEST_BACKENDS", "sqlite,postgres").split(",") if b]
BATCHCTL = [sys.executable, "-m", "batchctl"]


@dataclass
class Result:
    """What one CLI call did."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


@dataclass
class Backend:
    """One isolated backend and the environment that points batchctl at it."""

    name: str
    env: dict[str, str]
    tmp: Path
    workers: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        with _patched_env(self.env):
            return Settings.from_env()

    def database(self) -> Database:
        return Database(self.env["BATCHCTL_DATABASE_URL"])

    def cli(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run the CLI in this process (fast): exit code, stdout, stderr."""
        from batchctl.cli.app import main
        from batchctl.cli.runtime import client

        out, err = io.StringIO(), io.StringIO()
        client.cache_clear()
        code = 0
        with (
            _patched_env({**self.env, **(env or {})}),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        client.cache_clear()
        return Result(code, out.getvalue(), err.getvalue())

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        """Run the CLI as a real process."""
        done = subprocess.run(
            [*BATCHCTL, *args],
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.tmp,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start a batchctl command as a real process, not waited for (for races); read it with communicate()."""
        return subprocess.Popen(
            [*BATCHCTL, *args],
            env={**os.environ, **self.env},
            cwd=self.tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start_worker(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``batchctl worker`` as a real process; it is stopped when the test ends.

        Its output goes to a file (``worker_log``), never to a pipe nobody reads: a full pipe would
        block the worker on its next log line.
        """
        log = (self.tmp / "worker.log").open("a")
        process = subprocess.Popen(
            [*BATCHCTL, "worker", *args],
            env={**os.environ, **self.env, **(env or {})},
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        self.workers.append(process)
        return process

    @property
    def worker_log(self) -> str:
        """Everything the workers started by start_worker printed."""
        path = self.tmp / "worker.log"
        return path.read_text() if path.exists() else ""

    def burst(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        """Run a burst worker to completion."""
        return self.run("worker", "--burst", *args, env=env, timeout=timeout)

    def stop_workers(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def _patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _base_env(tmp: Path) -> dict[str, str]:
    return {
        "BATCHCTL_HOME": str(tmp / "home"),
        "BATCHCTL_FILES": str(tmp / "files"),
        "BATCHCTL_STRATEGIES": os.pathsep.join([str(STRATEGIES), str(TEST_STRATEGIES)]),
        "BATCHCTL_USER": "tester",
        "BATCHCTL_POLL_INTERVAL": "0.02",
        "BATCHCTL_QUEUE_NAME": f"batchctl-test-{uuid.uuid4().hex[:12]}",
        "NO_COLOR": "1",
    }


# -- PostgreSQL: one migrated template per test process, a clone of it per test ------------------------------


def _pg_admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({error}); start it or set BATCHCTL_TEST_BACKENDS=sqlite"
        )


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    from batchctl.schema import upgrade

    name = f"batchctl_tmpl_{os.getpid()}"
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(Database(_pg_url(name)))
    yield name
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _pg_database(template: str | None = None) -> Iterator[str]:
    name = f"batchctl_t_{uuid.uuid4().hex[:16]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield _pg_url(name)
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_database() -> Callable[[str | None], AbstractContextManager[str]]:
    """Makes a PostgreSQL database for the test (empty, or a clone of a template) and yields its URL; dropped after."""
    return _pg_database


@pytest.fixture
def patched_env() -> Callable[[dict[str, str]], AbstractContextManager[None]]:
    """Sets environment variables for a ``with`` block only, as a process started with them would see them."""
    return _patched_env


@pytest.fixture
def env_for() -> Callable[[Path], dict[str, str]]:
    """The environment of an isolated backend kept under a directory (for a test that builds its own)."""
    return _base_env


def _check_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable ({error}); start it or set BATCHCTL_TEST_BACKENDS=sqlite")


def _flush_redis_queue(queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{queue_name}*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite database per test process; each sqlite backend starts from a copy of it.

    Commands that only read refuse a path where no database exists, so a test's first ``list`` needs one
    made already; copying is also much faster than migrating for every test.
    """
    from batchctl.schema import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "batchctl.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    with database.transaction(write=False):  # switches the file to WAL, as batchctl leaves it
        pass
    database.discard_connection()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """A fresh, isolated backend: ``sqlite`` (the embedded default) or ``postgres`` (+ Redis)."""
    env = _base_env(tmp_path)
    if request.param == "sqlite":
        import shutil

        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "batchctl.db")
        env["BATCHCTL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'batchctl.db'}"
        backend = Backend("sqlite", env, tmp_path)
        yield backend
        backend.stop_workers()
        return
    if request.param != "postgres":
        pytest.fail(f"unknown backend {request.param!r} in BATCHCTL_TEST_BACKENDS")
    template = request.getfixturevalue("pg_template")
    _check_redis()
    with _pg_database(template) as url:
        env["BATCHCTL_DATABASE_URL"] = url
        env["BATCHCTL_REDIS_URL"] = REDIS_URL
        backend = Backend("postgres", env, tmp_path)
        try:
            yield backend
        finally:
            backend.stop_workers()
            _flush_redis_queue(env["BATCHCTL_QUEUE_NAME"])


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)
