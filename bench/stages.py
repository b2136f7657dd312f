"""Where a figure runs: a fresh, migrated backend per measurement, and the processes that run against it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from raw_huey import QueueSpec

if TYPE_CHECKING:
    from batchctl.config import Settings
    from batchctl.runtime import Runtime

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PG_ADMIN_URL = os.environ.get("BATCHCTL_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATCHCTL_BENCH_REDIS", "redis://127.0.0.1:6379/0")
FINISHED = ("completed", "failed", "canceled")


def batchctl_command() -> list[str]:
    """The installed console script beside this interpreter (what users run), else ``python -m batchctl``."""
    script = Path(sys.executable).with_name("batchctl")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "batchctl"]


def run_process(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> str:
    """Run a command to completion; its stdout, or RuntimeError with its stderr when it failed."""
    try:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{' '.join(command)} did not finish within {timeout:g}s") from None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def timed_process(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 60) -> float:
    """Seconds a command takes as a whole new process."""
    started = time.perf_counter()
    run_process(command, env=env, cwd=cwd, timeout=timeout)
    return time.perf_counter() - started


def patience(units: int, seconds_each: float) -> float:
    """A timeout for work on ``units`` things: generous, so that a hung process fails the run, never a slow one."""
    return 120.0 + units * seconds_each


@dataclass
class Stage:
    """One fresh backend: the env that points batchctl at it, and a raw queue on the same kind of storage."""

    backend: str
    tmp: Path
    env: dict[str, str]
    raw: QueueSpec

    def process_env(self) -> dict[str, str]:
        """This process's environment without the caller's BATCHCTL_*, plus the stage's."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("BATCHCTL_")}
        env.update(self.env)
        return env

    def settings(self) -> Settings:
        """batchctl's Settings for this stage, read the way the CLI reads them (from the environment)."""
        from batchctl.config import Settings

        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(self.process_env())
            settings = Settings.from_env()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        # Processes run in self.tmp, where there is no ./strategies: only the built-ins and BATCHCTL_STRATEGIES.
        return replace(settings, strategy_paths=tuple(p for p in settings.strategy_paths if p.is_absolute()))

    def runtime(self) -> Runtime:
        """An in-process batchctl on this stage (for set-up and checks; close its ``db`` when done)."""
        from batchctl.runtime import Runtime

        return Runtime(self.settings())

    def database_url(self) -> str:
        return self.settings().database_url

    def batchctl(self, *args: str, timeout: float = 120) -> str:
        """Run ``batchctl ARGS`` on this stage; its stdout."""
        return run_process([*batchctl_command(), *args], env=self.process_env(), cwd=self.tmp, timeout=timeout)

    @contextlib.contextmanager
    def worker(self, *args: str) -> Iterator[subprocess.Popen[str]]:
        """A running `batchctl worker ARGS` process, stopped with SIGTERM afterwards (RuntimeError if it died)."""
        log = (self.tmp / f"worker-{uuid.uuid4().hex[:8]}.log").open("w+")
        process = subprocess.Popen(
            [*batchctl_command(), "worker", *args],
            env=self.process_env(),
            cwd=self.tmp,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        try:
            yield process
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited {process.returncode}: {_tail(log)}")
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()


def _tail(log: Any) -> str:
    log.seek(0)
    text: str = log.read()
    return text.strip()[-2000:]


def wait_for_job(
    runtime: Runtime,
    job_id: str,
    statuses: tuple[str, ...] = (),
    *,
    until: Callable[[Any], bool] | None = None,
    waiting_for: str = "",
    timeout: float,
    poll: float = 0.01,
) -> Any:
    """Poll the database until the job is in one of ``statuses`` (or ``until(job)`` holds); its row.

    RuntimeError on timeout, or when the job ends otherwise. ``waiting_for`` names the wait in those errors.
    """
    from batchctl.service import get_job

    waiting_for = waiting_for or "/".join(statuses)
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(runtime, job_id)
        if job["status"] in statuses or (until is not None and until(job)):
            return job
        if job["status"] in FINISHED:
            raise RuntimeError(f"job {job_id} ended {job['status']} (waiting for {waiting_for}): {job['result']}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['status']} after {timeout:g}s (waiting for {waiting_for})")
        time.sleep(poll)


def warm_up(runtime: Runtime) -> None:
    """Run a noop job through the stage's worker: once it is done, the worker has started up and gone idle,
    so a job timed next holds none of its start-up."""
    from batchctl.service import create_job

    job_id = create_job(runtime, "noop", {}, dry_run=False)["id"]
    wait_for_job(runtime, job_id, ("completed",), timeout=60)


def seconds_between(job: Any, start: str, end: str) -> float:
    """Seconds between two of a job's timestamps (each written by the process that made that move)."""
    from batchctl.db import to_datetime

    began, ended = to_datetime(job[start]), to_datetime(job[end])
    if began is None or ended is None:
        raise RuntimeError(f"job {job['id']} has no {start if began is None else end}")
    return (ended - began).total_seconds()


def _base_env(tmp: Path) -> dict[str, str]:
    return {
        "BATCHCTL_HOME": str(tmp / "home"),
        "BATCHCTL_FILES": str(tmp / "files"),
        "BATCHCTL_USER": "bench",
        "BATCHCTL_QUEUE_NAME": f"batchctl-bench-{uuid.uuid4().hex[:12]}",
        "NO_COLOR": "1",
    }


class Backend:
    """Where figures run; ``stage()`` gives a fresh database and queue per measurement."""

    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def check(self) -> None:
        """Fail early, with a clear message, when the backend's servers are not there."""

    def stage(self, **env: str) -> contextlib.AbstractContextManager[Stage]:
        """A fresh database and queue (plus extra BATCHCTL_* in ``env``), removed afterwards."""
        raise NotImplementedError

    def close(self) -> None:
        """Remove what the backend set up once (templates)."""


class SqliteBackend(Backend):
    """The embedded default: no BATCHCTL_DATABASE_URL, so SQLite in BATCHCTL_HOME with the queue beside it."""

    name = "sqlite"

    @contextlib.contextmanager
    def stage(self, **extra: str) -> Iterator[Stage]:
        tmp = Path(tempfile.mkdtemp(prefix="sqlite-", dir=self.workdir))
        home = tmp / "home"
        home.mkdir()
        raw = QueueSpec("sqlite", f"raw-{uuid.uuid4().hex[:12]}", str(home / "raw.queue"))
        stage = Stage(self.name, tmp, {**_base_env(tmp), **extra}, raw)
        try:
            # The embedded database makes its schema on first use: not on any clock.
            stage.runtime().db.discard_connection()
            yield stage
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class PostgresBackend(Backend):
    """PostgreSQL + Redis: a database cloned from a migrated template per stage, a unique Redis queue name."""

    name = "postgres"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.template: str | None = None

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)

    def _url(self, name: str) -> str:
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"

    def check(self) -> None:
        import psycopg
        import redis

        try:
            with self._admin():
                pass
        except psycopg.OperationalError as error:
            raise SystemExit(
                f"error: PostgreSQL at {PG_ADMIN_URL} is unreachable ({error}); use --backend sqlite"
            ) from None
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
        except redis.RedisError as error:
            raise SystemExit(f"error: Redis at {REDIS_URL} is unreachable ({error}); use --backend sqlite") from None
        self._make_template()

    def _make_template(self) -> None:
        from batchctl.db import Database
        from batchctl.schema import upgrade

        name = f"batchctl_bench_tmpl_{os.getpid()}"
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        self.template = name
        database = Database(self._url(name))
        upgrade(database)  # what `batchctl db upgrade` runs
        database.discard_connection()

    @contextlib.contextmanager
    def stage(self, **extra: str) -> Iterator[Stage]:
        if self.template is None:
            self._make_template()
        tmp = Path(tempfile.mkdtemp(prefix="postgres-", dir=self.workdir))
        name = f"batchctl_bench_{uuid.uuid4().hex[:16]}"
        env = {
            **_base_env(tmp),
            "BATCHCTL_DATABASE_URL": self._url(name),
            "BATCHCTL_REDIS_URL": REDIS_URL,
            **extra,
        }
        raw = QueueSpec("redis", f"raw-bench-{uuid.uuid4().hex[:12]}", REDIS_URL)
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            yield Stage(self.name, tmp, env, raw)
        finally:
            _forget_redis_queue(env["BATCHCTL_QUEUE_NAME"])
            _forget_redis_queue(raw.name)
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        if self.template is not None:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            self.template = None


def _forget_redis_queue(queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{queue_name}*"))
    if keys:
        client.delete(*keys)


BACKENDS: dict[str, type[Backend]] = {"sqlite": SqliteBackend, "postgres": PostgresBackend}
