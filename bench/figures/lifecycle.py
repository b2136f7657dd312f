"""No-op jobs through the whole lifecycle per second, against raw Huey tasks per second.

batchctl: N ``noop`` jobs are created in-process (one transaction each, as N `batchctl create` calls would
make), then W `batchctl worker --burst` processes drain them through created → pre_processing →
pre_processed → confirmed → processing → completed; every job is checked to be completed afterwards.
Baseline: N no-op Huey tasks on the same kind of storage, enqueued here, drained by W consumer processes of
``raw_huey.py`` (Huey's own Consumer with batchctl's settings); they must report N runs between them.
A tracked job costs durable writes that a raw task does not (its row, its claim, its transitions and
their events), yet the goal is against raw Huey itself: >= 0.8 of its rate on the embedded default,
>= 0.5 on PostgreSQL + Redis (where every write of batchctl's is a database round trip).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from harness import Figure, Goal, Options, interleaved, milliseconds, paired_ratio, progress
from raw_huey import RawQueue
from stages import BENCH, Backend, Stage, batchctl_command, patience

if TYPE_CHECKING:
    from batchctl.config import Settings


GOALS = {"sqlite": 0.8, "postgres": 0.5}


def _check_raw_mirrors(settings: Settings) -> None:
    """The raw consumer copies batchctl's queue settings; a baseline with other settings would be unfair."""
    import raw_huey

    from batchctl.queue import READ_TIMEOUT

    if (raw_huey.READ_TIMEOUT, raw_huey.POLL_INTERVAL) != (READ_TIMEOUT, settings.poll_interval):
        raise RuntimeError("bench/raw_huey.py no longer mirrors batchctl's READ_TIMEOUT and poll interval")


def _run_all(commands: list[list[str]], stage: Stage, timeout: float) -> list[str]:
    """Start every command at once in the stage; their stdouts once all have exited 0."""
    processes = [
        subprocess.Popen(
            command, env=stage.process_env(), cwd=stage.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    outputs = []
    for command, process in zip(commands, processes, strict=True):
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            raise RuntimeError(f"{' '.join(command)} did not finish within {timeout:g}s") from None
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {err.strip()[-2000:]}")
        outputs.append(out)
    return outputs


def _batchctl_round(stage: Stage, jobs: int, workers: int, details: dict[str, list[float]]) -> float:
    from batchctl.service import create_job

    runtime = stage.runtime()
    _check_raw_mirrors(runtime.settings)
    runtime.registry()  # strategies loaded and the connection open before the clock starts
    started = time.perf_counter()
    for _ in range(jobs):
        create_job(runtime, "noop", {}, dry_run=False)
    created = time.perf_counter()
    _run_all([[*batchctl_command(), "worker", "--burst"]] * workers, stage, patience(jobs, 0.5))
    drained = time.perf_counter()
    with runtime.db.transaction(write=False) as tx:  # outside the clock: did every job really finish?
        done = tx.execute("SELECT COUNT(*) AS n FROM batch_job WHERE status = 'completed'").scalar()
    runtime.db.discard_connection()
    if done != jobs:
        raise RuntimeError(f"{stage.backend}: {workers} burst worker(s) completed {done} of {jobs} jobs")
    details["batchctl_create_s"].append(created - started)
    details["batchctl_drain_s"].append(drained - created)
    return jobs / (drained - started)


def _raw_round(stage: Stage, jobs: int, workers: int, details: dict[str, list[float]]) -> float:
    queue = RawQueue(stage.raw)
    queue.pending()  # storage opened (SQLite tables made) before the clock starts, as batchctl's schema is
    started = time.perf_counter()
    queue.enqueue(jobs)
    enqueued = time.perf_counter()
    queue.close()
    consumer = [sys.executable, str(BENCH / "raw_huey.py"), *stage.raw.args()]
    outputs = _run_all([consumer] * workers, stage, patience(jobs, 0.5))
    drained = time.perf_counter()
    executed = sum(int(out.strip() or 0) for out in outputs)
    if executed != jobs:
        raise RuntimeError(f"{stage.backend}: {workers} raw Huey consumer(s) ran {executed} of {jobs} tasks")
    details["raw_enqueue_s"].append(enqueued - started)
    details["raw_drain_s"].append(drained - enqueued)
    return jobs / (drained - started)


def _throughput(backend: Backend, options: Options, workers: int) -> Figure:
    details: dict[str, list[float]] = {
        "batchctl_create_s": [],
        "batchctl_drain_s": [],
        "raw_enqueue_s": [],
        "raw_drain_s": [],
    }
    label = f"{backend.name} lifecycle, {workers} worker{'s' if workers > 1 else ''}"

    def ours() -> float:
        with backend.stage() as stage:
            rate = _batchctl_round(stage, options.jobs, workers, details)
        progress(options, f"{label}: batchctl {rate:.1f} jobs/s")
        return rate

    def theirs() -> float:
        with backend.stage() as stage:
            rate = _raw_round(stage, options.jobs, workers, details)
        progress(options, f"{label}: raw Huey {rate:.1f} tasks/s")
        return rate

    batchctl_rates, raw_rates = interleaved(options.rounds, ours, theirs)
    batchctl = statistics.median(batchctl_rates)
    baseline = statistics.median(raw_rates)
    return Figure(
        figure=f"no-op lifecycle, {workers} worker{'s' if workers > 1 else ''} (N={options.jobs})",
        backend=backend.name,
        batchctl=batchctl,
        batchctl_text=f"{batchctl:.0f} jobs/s",
        baseline=baseline,
        baseline_text=f"{baseline:.0f}/s",
        ratio=paired_ratio(batchctl_rates, raw_rates),
        goal=Goal(">=", GOALS[backend.name]),
        samples={"batchctl": batchctl_rates, "baseline": raw_rates, **details},
        notes=[
            f"{label}, medians: batchctl create {milliseconds(details['batchctl_create_s'])} + workers "
            f"{milliseconds(details['batchctl_drain_s'])}; raw enqueue {milliseconds(details['raw_enqueue_s'])} + "
            f"consumers {milliseconds(details['raw_drain_s'])} (process start-up and exit included)"
        ],
    )


def one_worker(backend: Backend, options: Options) -> list[Figure]:
    return [_throughput(backend, options, workers=1)]


def four_workers(backend: Backend, options: Options) -> list[Figure]:
    return [_throughput(backend, options, workers=4)]
