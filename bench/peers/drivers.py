"""How the bench drives each peer: a fresh queue per round, warm workers, enqueueing, waiting, checking.

Every contestant — batchctl and each peer — is a ``Contestant``: ``round()`` gives a ``Lane`` (a fresh
queue or database) whose ``workers(n)`` start n worker processes the peer's recommended way, with
concurrency 1, and return once a first job has gone through them (warm); ``enqueue(kind, n)`` submits the
jobs from this process; ``finished()`` says how many have run; ``check(ids, kind)`` asks the peer's own
records that every job ran (and, where the peer tracks it, reached full progress).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PEERS_DIR = Path(__file__).resolve().parent
PROGRESS_REPORTS = 20
KINDS = ("noop", "progress", "stamp")


def _script(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise SystemExit(f"error: {name} is not installed beside {sys.executable}; pip install -e '.[bench]'")
    return str(path)


class Lane:
    """One contestant's fresh queue for one round."""

    name = ""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.processes: list[subprocess.Popen[str]] = []

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def worker_command(self) -> list[str]:
        raise NotImplementedError

    def enqueue(self, kind: str, n: int) -> list[Any]:
        raise NotImplementedError

    def finished(self) -> int:
        raise NotImplementedError

    def started_at(self) -> list[float]:
        """Wall-clock start times of the ``stamp`` jobs so far, in order."""
        raise NotImplementedError

    def check(self, ids: list[Any], kind: str) -> None:
        """RuntimeError unless every job ran (and shows full progress where the peer tracks it)."""

    def check_soon(self, ids: list[Any], kind: str, timeout: float = 30) -> None:
        """``check``, given the peer a moment: a task counts itself done just before its peer records it so."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.check(ids, kind)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        """Remove the lane's queue or database."""

    @contextlib.contextmanager
    def workers(self, count: int) -> Iterator[None]:
        """``count`` warm worker processes, stopped (SIGTERM, then SIGKILL) afterwards."""
        env = {**os.environ, **self.env(), "PYTHONPATH": str(PEERS_DIR)}
        log = (self.tmp / f"{self.name}-{uuid.uuid4().hex[:6]}.log").open("w")
        for _ in range(count):
            self.processes.append(
                subprocess.Popen(
                    self.worker_command(), env=env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT, text=True
                )
            )
        try:
            ids = self.enqueue("noop", count)  # warm: a first job through, imports and connections made
            self.wait_finished(count, timeout=120)
            self.check_soon(ids, "noop")
            self.reset()
            yield
        finally:
            for process in self.processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in self.processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.processes.clear()
            log.close()

    def reset(self) -> None:
        """Forget the warm-up job in ``finished()``."""

    def wait_finished(self, n: int, *, timeout: float, poll: float = 0.01) -> None:
        deadline = time.monotonic() + timeout
        while self.finished() < n:
            if any(process.poll() is not None for process in self.processes):
                raise RuntimeError(f"a {self.name} worker exited; see its log in {self.tmp}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: {self.finished()} of {n} jobs finished within {timeout:g}s")
            time.sleep(poll)


class RedisMarks(Lane):
    """A peer whose tasks count themselves in Redis (bench/peers/marks.py)."""

    def __init__(self, tmp: Path, redis_url: str) -> None:
        super().__init__(tmp)
        import redis

        self.redis_url = redis_url
        self.key = f"peers-{uuid.uuid4().hex[:12]}"
        self.redis = redis.Redis.from_url(redis_url)
        self.base = 0

    def env(self) -> dict[str, str]:
        return {"BENCH_PEER_REDIS": self.redis_url, "BENCH_PEER_KEY": self.key}

    def finished(self) -> int:
        return int(self.redis.get(f"{self.key}:done") or 0) - self.base

    def reset(self) -> None:
        self.base = int(self.redis.get(f"{self.key}:done") or 0)

    def started_at(self) -> list[float]:
        return [float(value) for value in self.redis.lrange(f"{self.key}:started", 0, -1)]

    def close(self) -> None:
        keys = list(self.redis.scan_iter(match=f"*{self.key}*"))
        if keys:
            self.redis.delete(*keys)


class RqLane(RedisMarks):
    """RQ with its default (forking) Worker, or its SimpleWorker."""

    def __init__(self, tmp: Path, redis_url: str, *, simple: bool) -> None:
        super().__init__(tmp, redis_url)
        from rq import Queue

        self.name = "RQ SimpleWorker" if simple else "RQ (fork)"
        self.worker_class = "rq.worker.SimpleWorker" if simple else "rq.worker.Worker"
        self.queue = Queue(self.key, connection=self.redis)

    def worker_command(self) -> list[str]:
        return [_script("rq"), "worker", "--url", self.redis_url, "--worker-class", self.worker_class, "-q", self.key]

    def enqueue(self, kind: str, n: int) -> list[Any]:
        args = (PROGRESS_REPORTS,) if kind == "progress" else ()
        return [self.queue.enqueue(f"rq_tasks.{kind}", *args).id for _ in range(n)]

    def check(self, ids: list[Any], kind: str) -> None:
        from rq.job import Job

        jobs = Job.fetch_many(ids, connection=self.redis)
        statuses = [job.get_status() if job else None for job in jobs]
        ran = sum(1 for status in statuses if status is not None and str(status.value) == "finished")
        if ran != len(ids):
            raise RuntimeError(f"{self.name}: {ran} of {len(ids)} jobs finished")
        if kind == "progress" and any(job.get_meta().get("progress") != 1.0 for job in jobs if job):
            raise RuntimeError(f"{self.name}: a job did not report full progress")


class CeleryLane(RedisMarks):
    """Celery on Redis (broker and result backend), with the prefork pool or the solo pool."""

    def __init__(self, tmp: Path, redis_url: str, *, pool: str) -> None:
        super().__init__(tmp, redis_url)
        from celery import Celery

        self.name = f"Celery {pool}"
        self.pool = pool
        self.app = Celery("peers-client", broker=redis_url, backend=redis_url)

    def worker_command(self) -> list[str]:
        return [
            _script("celery"),
            "-A",
            "celery_tasks",
            "worker",
            "-P",
            self.pool,
            "-c",
            "1",
            "-Q",
            self.key,
            "-l",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def enqueue(self, kind: str, n: int) -> list[Any]:
        args = [PROGRESS_REPORTS] if kind == "progress" else []
        return [self.app.send_task(kind, args=args, queue=self.key).id for _ in range(n)]

    def check(self, ids: list[Any], kind: str) -> None:
        states = [self.app.AsyncResult(task_id).state for task_id in ids]
        if states.count("SUCCESS") != len(ids):
            raise RuntimeError(f"{self.name}: {states.count('SUCCESS')} of {len(ids)} tasks succeeded")

    def close(self) -> None:
        super().close()
        self.app.close()


class ProcrastinateLane(RedisMarks):
    """procrastinate on PostgreSQL (a fresh database with its schema per round), LISTEN/NOTIFY on."""

    name = "procrastinate"

    def __init__(self, tmp: Path, redis_url: str, admin_url: str) -> None:
        super().__init__(tmp, redis_url)
        import psycopg

        self.admin_url = admin_url
        self.database = f"peers_proc_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.conninfo = f"{admin_url.rsplit('/', 1)[0]}/{self.database}"
        env = {**os.environ, **self.env(), "PYTHONPATH": str(PEERS_DIR)}
        subprocess.run(
            [_script("procrastinate"), "--app=procrastinate_tasks.app", "schema", "--apply"],
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
        )
        import procrastinate

        self.app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=self.conninfo))
        self.app.open()

    def env(self) -> dict[str, str]:
        return {**super().env(), "BENCH_PEER_POSTGRES": self.conninfo}

    def worker_command(self) -> list[str]:
        return [_script("procrastinate"), "--app=procrastinate_tasks.app", "worker", "-c", "1", "-q", self.key]

    def enqueue(self, kind: str, n: int) -> list[Any]:
        task = self.app.configure_task(kind, queue=self.key)
        kwargs = {"reports": PROGRESS_REPORTS} if kind == "progress" else {}
        return [task.defer(**kwargs) for _ in range(n)]

    def check(self, ids: list[Any], kind: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY(%s) AND status = 'succeeded'", (ids,)
            ).fetchone()
        succeeded = int(row[0]) if row else 0
        if succeeded != len(ids):
            raise RuntimeError(f"{self.name}: {succeeded} of {len(ids)} jobs succeeded")

    def close(self) -> None:
        import psycopg

        super().close()
        self.app.close()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def peer_lanes(tmp: Path, redis_url: str, admin_url: str) -> dict[str, Any]:
    """A lane factory per peer, by name, in the table's order."""
    return {
        "RQ (fork)": lambda: RqLane(tmp, redis_url, simple=False),
        "RQ SimpleWorker": lambda: RqLane(tmp, redis_url, simple=True),
        "Celery prefork": lambda: CeleryLane(tmp, redis_url, pool="prefork"),
        "Celery solo": lambda: CeleryLane(tmp, redis_url, pool="solo"),
        "procrastinate": lambda: ProcrastinateLane(tmp, redis_url, admin_url),
    }


# Which peers keep a job's status for a caller to read afterwards (the "tracks job status" goal).
TRACKS_STATUS = {"RQ (fork)", "RQ SimpleWorker", "Celery prefork", "Celery solo", "procrastinate"}
