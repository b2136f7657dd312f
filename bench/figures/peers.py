"""batchctl against the queues users would pick instead: RQ, Celery and procrastinate, on the same services.

Each contestant runs its recommended worker with concurrency 1 (warm before anything is timed) on
PostgreSQL + Redis on localhost; batchctl runs on each backend. A round of a workload enqueues N jobs from
this process and waits until they have all run; the rate is N over that whole time (enqueueing included,
as a user's script would see it). Rounds are interleaved, the contestants' order rotating every round,
and every job is checked in the contestant's own records afterwards (with full progress, where it tracks
progress). Pick-up latency: an idle worker, a job enqueued at a random moment, the time until it starts.
Enqueue rate: N jobs submitted one by one with no worker running.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from harness import Figure, Goal, Options, progress
from peers.drivers import PROGRESS_REPORTS, TRACKS_STATUS, Lane, peer_lanes
from stages import PG_ADMIN_URL, REDIS_URL, Backend, Stage, batchctl_command, patience

WORKLOADS = {  # name: (kind, jobs as a share of options.peer_jobs, workers)
    "noop1": ("noop", 1.0, 1),
    "progress1": ("progress", 0.2, 1),
    "noop2": ("noop", 1.0, 2),
}
TITLES = {
    "noop1": "no-op jobs, 1 worker",
    "progress1": f"jobs with {PROGRESS_REPORTS} progress reports each, 1 worker",
    "noop2": "no-op jobs, 2 workers",
}


class BatchctlLane(Lane):
    """batchctl on one bench stage: `batchctl worker` processes, jobs created through the Python API."""

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage.tmp)
        import batchctl

        self.name = f"batchctl ({stage.backend})"
        self.stage = stage
        self.jobs = batchctl.Jobs(stage.runtime())
        self.jobs.strategies()  # strategies loaded and the connection open before any clock starts
        self.base = 0

    def env(self) -> dict[str, str]:
        return self.stage.process_env()

    def worker_command(self) -> list[str]:
        return [*batchctl_command(), "worker"]

    def enqueue(self, kind: str, n: int) -> list[Any]:
        context = {"count": PROGRESS_REPORTS, "chunk_size": 1} if kind == "progress" else {}
        return [self.jobs.create("noop", context).id for _ in range(n)]

    def _completed(self) -> list[Any]:
        with self.jobs.runtime.db.transaction(write=False) as tx:
            return tx.execute(
                "SELECT id, processing_at, advancement_count FROM batch_job WHERE status = 'completed' ORDER BY id"
            ).all()

    def finished(self) -> int:
        with self.jobs.runtime.db.transaction(write=False) as tx:
            return int(tx.execute("SELECT COUNT(*) FROM batch_job WHERE status = 'completed'").scalar()) - self.base

    def reset(self) -> None:
        self.base += self.finished()

    def started_at(self) -> list[float]:
        from batchctl.db import to_datetime

        moments = [to_datetime(row["processing_at"]) for row in self._completed()]
        return [moment.timestamp() for moment in moments[self.base :] if moment is not None]

    def check(self, ids: list[Any], kind: str) -> None:
        rows = {row["id"]: row for row in self._completed()}
        missing = [job_id for job_id in ids if job_id not in rows]
        if missing:
            raise RuntimeError(f"{self.name}: {len(missing)} of {len(ids)} jobs did not complete")
        want = PROGRESS_REPORTS if kind == "progress" else 0
        if any(rows[job_id]["advancement_count"] != want for job_id in ids):
            raise RuntimeError(f"{self.name}: a job did not report all its progress")

    def close(self) -> None:
        self.jobs.close()


LaneFactory = Callable[[], contextlib.AbstractContextManager[Lane]]
Measure = Callable[[LaneFactory], Any]


def _contestants(backends: list[Backend], tmp: Path) -> dict[str, LaneFactory]:
    def ours(backend: Backend) -> LaneFactory:
        @contextlib.contextmanager
        def lane() -> Iterator[Lane]:
            with backend.stage() as stage:
                made = BatchctlLane(stage)
                try:
                    yield made
                finally:
                    made.close()

        return lane

    def theirs(make: Callable[[], Lane]) -> LaneFactory:
        @contextlib.contextmanager
        def lane() -> Iterator[Lane]:
            made = make()
            try:
                yield made
            finally:
                made.close()

        return lane

    contestants = {f"batchctl ({backend.name})": ours(backend) for backend in backends}
    contestants.update({name: theirs(make) for name, make in peer_lanes(tmp, REDIS_URL, PG_ADMIN_URL).items()})
    return contestants


def _rate_round(lane_of: LaneFactory, kind: str, jobs: int, workers: int) -> float:
    with lane_of() as lane, lane.workers(workers):
        started = time.perf_counter()
        ids = lane.enqueue(kind, jobs)
        lane.wait_finished(jobs, timeout=patience(jobs, 1.0))
        elapsed = time.perf_counter() - started
        lane.check_soon(ids, kind)
    return jobs / elapsed


def _enqueue_round(lane_of: LaneFactory, jobs: int) -> float:
    with lane_of() as lane:
        started = time.perf_counter()
        lane.enqueue("noop", jobs)
        return jobs / (time.perf_counter() - started)


def _latency_round(lane_of: LaneFactory, samples: int, rng: random.Random) -> list[float]:
    latencies = []
    with lane_of() as lane, lane.workers(1):
        for sample in range(samples):
            time.sleep(rng.uniform(0.1, 0.6))  # a random moment of the idle worker's poll
            enqueued = time.time()
            lane.enqueue("stamp", 1)
            lane.wait_finished(sample + 1, timeout=60, poll=0.002)
            latencies.append(lane.started_at()[-1] - enqueued)
    return latencies


def _rounds(options: Options, contestants: dict[str, LaneFactory], measure: Measure) -> dict[str, list[Any]]:
    """``measure`` each contestant, interleaved: the order rotates every round."""
    names = list(contestants)
    results: dict[str, list[Any]] = {name: [] for name in names}
    for round_index in range(options.peer_rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            value = measure(contestants[name])
            results[name].append(value)
            progress(options, f"peers: {name} {value if not isinstance(value, list) else statistics.median(value)}")
    return results


def _figure(
    title: str, backend: str, ours: float, peers: dict[str, float], goal: Goal, unit: str, *, lower_is_better: bool
) -> Figure:
    best_name = (min if lower_is_better else max)(peers, key=lambda name: peers[name])
    best = peers[best_name]
    ratio = ours / best if best else float("nan")

    def text(value: float) -> str:
        return f"{value * 1000:.1f} ms" if unit == "s" else f"{value:.0f} {unit}"

    return Figure(
        figure=title,
        backend=backend,
        batchctl=ours,
        batchctl_text=text(ours),
        baseline=best,
        baseline_text=f"{text(best)} ({best_name})",
        ratio=ratio,
        goal=goal,
        samples={"batchctl": [ours], **{name: [value] for name, value in peers.items()}},
        notes=[
            f"{backend} {title}: batchctl {text(ours)}; "
            + ", ".join(f"{name} {text(value)} (batchctl ÷ it {ours / value:.2f})" for name, value in peers.items())
        ],
    )


def _rate_measure(kind: str, jobs: int, workers: int) -> Measure:
    def measure(lane: LaneFactory) -> float:
        return _rate_round(lane, kind, jobs, workers)

    return measure


def _median_of_all(values: list[list[float]]) -> float:
    return statistics.median(x for samples in values for x in samples)


def peers(backends: list[Backend], options: Options) -> list[Figure]:
    """Every peer workload, each batchctl backend against the fastest peer; the table rows."""
    tmp = Path(tempfile.mkdtemp(prefix="peers-"))
    contestants = _contestants(backends, tmp)
    ours = {f"batchctl ({backend.name})": backend.name for backend in backends}
    rows: list[tuple[str, dict[str, float], Goal, str, bool]] = []  # title, medians, goal, unit, lower is better
    for workload, (kind, share, workers) in WORKLOADS.items():
        jobs = max(10, int(options.peer_jobs * share))
        rates = _rounds(options, contestants, _rate_measure(kind, jobs, workers))
        medians = {name: statistics.median(values) for name, values in rates.items()}
        if workload != "progress1":  # the no-op goals are against the peers that keep a job's status
            medians = {name: value for name, value in medians.items() if name in ours or name in TRACKS_STATUS}
        goal = Goal(">=", 1.5) if workload == "progress1" else Goal(">=", 1.2)
        rows.append((f"peers: {TITLES[workload]} (N={jobs})", medians, goal, "jobs/s", False))
    enqueue_jobs = options.peer_jobs
    enqueues = _rounds(options, contestants, lambda lane: _enqueue_round(lane, enqueue_jobs))
    rows.append(
        (
            f"peers: creating jobs one by one (N={enqueue_jobs})",
            {name: statistics.median(values) for name, values in enqueues.items()},
            Goal(">=", 0.5),
            "jobs/s",
            False,
        )
    )
    rng = random.Random(20261201)
    latencies = _rounds(options, contestants, lambda lane: _latency_round(lane, options.latency_samples, rng))
    rows.append(
        (
            f"peers: pick-up latency p50, idle worker (K={options.latency_samples})",
            {name: _median_of_all(values) for name, values in latencies.items()},
            Goal("<=", 1.0),
            "s",
            True,
        )
    )
    figures = []
    for name, backend in ours.items():
        for title, medians, goal, unit, lower in rows:
            others = {peer: value for peer, value in medians.items() if peer not in ours}
            figures.append(_figure(title, backend, medians[name], others, goal, unit, lower_is_better=lower))
    return figures
