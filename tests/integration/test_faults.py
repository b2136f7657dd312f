"""Fault injection: real worker processes SIGKILLed at random moments in pre-processing and processing.

Fifty kills in a row against one set of jobs, then one last worker: no job is lost, none stays stuck
once the lease and the reconciler's interval have passed, no chunk is applied twice or skipped, and
every job ends with advancement_count == count. The figures are printed (``pytest -s``) and repeated
in every assertion message. test_leases.py covers one kill in detail; this is the many-kills soak.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from batchctl.db import utcnow
from tests.conftest import Backend

KILLS = 50
JOBS = 12
DRY_RUNS = 3  # of the JOBS, created with --dry-run and confirmed by the test once pre-processed
SEED = 20240611
LEASE = 1.0
RECONCILE = 2.0
POLL = 0.02
ENV = {
    "BATCHCTL_LEASE_SECONDS": str(LEASE),
    "BATCHCTL_RECONCILE_INTERVAL": str(RECONCILE),
    "BATCHCTL_POLL_INTERVAL": str(POLL),
}
# Each job: ~0.25 s of pre-processing in heartbeat steps, then 40 chunks of ~0.03 s. About 17 s of work in
# all, a little more than the 50 killed workers get through, so kills keep landing on real work and the
# last worker has some left to finish.
CONTEXT = ("-c", "count=40", "-c", "sleep=0.03", "-c", "pre_steps=5", "-c", "pre_sleep=0.05")
# How long a worker lives after its first claim before the kill: long enough to get past a 0.25 s
# pre-process about half of the time, short enough that most of the 40 chunks are never reached.
# Timed from the claim, not from the start, because start-up alone takes ~0.3 s (more under load).
KILL_AFTER = (0.0, 0.5)
# Some kills are timed from the process start instead and may land in start-up: the dispatcher's first
# pass, a wake-up taken off the queue but not yet claimed (lost with the process: the reconciler's case).
KILL_FROM_START = (0.05, 0.6)
KILLS_FROM_START = 0.2  # the share of kills timed that way
# A worker with nothing claimable (every job done, or every job still leased by the one just killed)
# is killed after this anyway; it never needs that long while work is left.
CLAIM_WAIT = 8.0
# Worker start-up (interpreter, imports, connections) under a loaded test machine: the part of the
# recovery time that is not the lease or the reconciler.
STARTUP_ALLOWANCE = 10.0


@dataclass
class Kill:
    """What one SIGKILL interrupted, read from the database after the process died."""

    phase: str  # "pre-processing", "processing" or "no job held" (start-up, or between two jobs)
    job_id: str | None = None
    attempt: int = 0
    checkpoint: int = 0


@dataclass
class Figures:
    backend: str
    kills: list[Kill] = field(default_factory=list)
    lost: int = 0
    failed: int = 0
    stuck: int = 0
    twice: int = 0
    missing: int = 0
    resumes: int = 0
    interrupted_pre: int = 0
    recovery: float = float("nan")
    bound: float = float("nan")

    def line(self) -> str:
        phases = Counter(kill.phase for kill in self.kills)
        return (
            f"faults[{self.backend}]: {len(self.kills)} kills ({phases['pre-processing']} in pre-processing, "
            f"{phases['processing']} in processing, {phases['no job held']} holding no job), {JOBS} jobs "
            f"({DRY_RUNS} dry-run), {self.lost} lost, {self.failed} failed, {self.stuck} stuck, "
            f"{self.twice} chunks twice, {self.missing} missing, resumes={self.resumes}, "
            f"interrupted pre-processes={self.interrupted_pre}, "
            f"recovery after last kill {self.recovery:.1f} s (bound {self.bound:.0f} s)"
        )


def query(backend: Backend, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with backend.database().transaction(write=False) as tx:
        return tx.execute(sql, params or {}).all()


def held_by(backend: Backend, pid: int) -> list[dict[str, Any]]:
    """The jobs worker ``pid`` holds a live lease on (claim tokens are ``host:pid:random``), latest first."""
    return query(
        backend,
        "SELECT id, status, attempts, advancement_count FROM batch_job "
        "WHERE worker LIKE :token AND lease_until > :now AND status IN ('created', 'processing') "
        "ORDER BY heartbeat_at DESC",
        {"token": f"%:{pid}:%", "now": utcnow()},
    )


def has_work(backend: Backend) -> bool:
    return bool(query(backend, "SELECT id FROM batch_job WHERE status IN ('created', 'confirmed', 'processing')"))


def poll(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    """``predicate()``'s first truthy value within ``timeout`` seconds, else None (no test failure)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def confirm_waiting_dry_runs(backend: Backend, dry_runs: set[str]) -> None:
    rows = query(backend, "SELECT id FROM batch_job WHERE status = 'pre_processed'")
    for row in rows:
        assert row["id"] in dry_runs, f"{row['id']} stopped at pre_processed but is not a dry run"
        assert backend.cli("confirm", row["id"], "-q").code == 0


def kill_one_worker(backend: Backend, rng: random.Random) -> Kill:
    """Start a worker, let it work a random moment after its first claim, SIGKILL it, say what it hit."""
    worker = backend.start_worker(env=ENV)
    try:
        if rng.random() < KILLS_FROM_START:
            time.sleep(rng.uniform(*KILL_FROM_START))
        else:
            poll(lambda: held_by(backend, worker.pid) or not has_work(backend), CLAIM_WAIT)
            time.sleep(rng.uniform(*KILL_AFTER))
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    # Read after the death: the dead worker's lease is still on what it held (nobody else may take
    # it before the lease runs out), so this is what the kill interrupted. With --concurrency 1 that
    # is one job; the latest heartbeat wins should a job given up after an error still be leased.
    hit = held_by(backend, worker.pid)
    if not hit:
        return Kill("no job held")
    job = hit[0]
    phase = "pre-processing" if job["status"] == "created" else "processing"
    return Kill(phase, job["id"], int(job["attempts"]), int(job["advancement_count"]))


def not_in_progress(backend: Backend, pid: int) -> int:
    """How many jobs need a worker and are not held, right now, by a live lease of worker ``pid``.

    A dry run waiting at pre_processed for its confirmation waits for a person, not for a worker.
    """
    rows = query(
        backend,
        "SELECT COUNT(*) AS n FROM batch_job WHERE status IN ('created', 'confirmed', 'processing') "
        "AND NOT (worker LIKE :token AND lease_until > :now)",
        {"token": f"%:{pid}:%", "now": utcnow()},
    )
    return int(rows[0]["n"])


def unfinished(backend: Backend, dry_runs: set[str]) -> list[dict[str, Any]]:
    confirm_waiting_dry_runs(backend, dry_runs)
    return query(backend, "SELECT id, status FROM batch_job WHERE status IN ('created', 'confirmed', 'processing')")


def events(backend: Backend, job_id: str) -> list[dict[str, Any]]:
    listed = backend.cli("events", job_id, "--json")
    assert listed.code == 0, listed.stderr
    return list(listed.json())


def test_fifty_kills_lose_no_job_stick_no_job_and_apply_no_chunk_twice(backend: Backend) -> None:
    rng = random.Random(SEED)
    ids: list[str] = []
    for index in range(JOBS):
        dry = ("--dry-run",) if index % (JOBS // DRY_RUNS) == 0 else ()
        created = backend.cli("create", "--type", "test-fault", *CONTEXT, *dry, "-q")
        assert created.code == 0, created.stderr
        ids.append(created.stdout.strip())
    dry_runs = set(ids[:: JOBS // DRY_RUNS])
    figures = Figures(backend.name, bound=2 * (LEASE + RECONCILE) + STARTUP_ALLOWANCE)

    killed_at = time.monotonic()
    for _ in range(KILLS):
        figures.kills.append(kill_one_worker(backend, rng))
        killed_at = time.monotonic()
        confirm_waiting_dry_runs(backend, dry_runs)

    # One last worker, with a consumer per job so that every unfinished job can be held at once: the
    # time until they all are is how long the kills left jobs without a worker.
    final = backend.start_worker("--concurrency", str(JOBS), env=ENV)
    if poll(lambda: not_in_progress(backend, final.pid) == 0, timeout=60, interval=0.05):
        figures.recovery = time.monotonic() - killed_at
    else:
        figures.stuck = not_in_progress(backend, final.pid)
    poll(lambda: not unfinished(backend, dry_runs), timeout=120, interval=0.1)
    figures.stuck = max(figures.stuck, len(unfinished(backend, dry_runs)))
    backend.stop_workers()
    log_tail = backend.worker_log[-3000:]

    kills_by_job: dict[str, list[Kill]] = defaultdict(list)
    for kill in figures.kills:
        if kill.job_id is not None:
            kills_by_job[kill.job_id].append(kill)
    problems: list[str] = []
    for job_id in ids:
        problems += check_job(backend, job_id, kills_by_job[job_id], figures)

    line = figures.line()
    print(line)
    phases = Counter(kill.phase for kill in figures.kills)
    assert not problems, f"{line}\n" + "\n".join(problems) + f"\nworker log (tail):\n{log_tail}"
    assert figures.lost == figures.failed == figures.stuck == figures.twice == figures.missing == 0, line
    assert figures.recovery <= figures.bound, line
    # The suite proves something only if the kills really landed in both phases.
    assert phases["pre-processing"] >= 3 and phases["processing"] >= 3, line
    assert figures.resumes >= phases["processing"], line


def check_job(backend: Backend, job_id: str, kills: list[Kill], figures: Figures) -> list[str]:
    """Check one job against what the kills did to it; count into ``figures``; return what is wrong."""
    listed = backend.cli("show", job_id, "--json")
    if listed.code != 0:
        figures.lost += 1
        return [f"{job_id}: lost: {listed.stderr.strip()}"]
    job = listed.json()
    result = job["result"] or {}
    problems: list[str] = []
    if job["status"] != "completed":
        figures.lost += 1
        if job["status"] == "failed":
            figures.failed += 1
            errors = " ".join(
                f"{error.get('code')} {error.get('message')}" for error in result.get("errors", [])
            ).lower()
            if any(word in errors for word in ("unique", "integrity", "duplicate")):
                figures.twice += 1
        problems.append(f"{job_id}: ended {job['status']}: {result.get('errors')}")

    chunks = query(
        backend, "SELECT chunk, attempt FROM test_fault_chunk WHERE job_id = :id ORDER BY chunk", {"id": job_id}
    )
    done = [row["chunk"] for row in chunks]
    count = int(job["context"]["count"])
    figures.missing += len(set(range(count)) - set(done))
    figures.twice += len(done) - len(set(done))
    if done != list(range(count)):
        problems.append(f"{job_id}: committed chunks {done}, expected 0..{count - 1}")
    if not (result.get("advancement_count") == result.get("count") == count):
        problems.append(f"{job_id}: advancement_count {result.get('advancement_count')}, count {result.get('count')}")
    # Each claim carried on where the one before it stopped: the chunks' attempts never go back.
    by_attempt = [row["attempt"] for row in chunks]
    if by_attempt != sorted(by_attempt):
        problems.append(f"{job_id}: chunks committed by attempts {by_attempt}, out of order")

    history = events(backend, job_id)
    names = Counter(event["name"] for event in history)
    for name in ("batch.pre_processed", "batch.processing", "batch.completed"):
        if names[name] != 1:
            problems.append(f"{job_id}: {names[name]} {name} events")
    # A dry run was confirmed once, by the test; every other job once, by the worker that pre-processed it.
    confirms = [bool(event["data"].get("auto")) for event in history if event["name"] == "batch.confirmed"]
    if confirms != [not job["dry_run"]]:
        problems.append(f"{job_id}: dry_run={job['dry_run']} but confirmed (auto) {confirms}")
    resumes = [event["data"] for event in history if event["data"].get("action") == "resume"]
    figures.resumes += len(resumes)
    # attempts restarts at pre_processed: the first processing claim is 1, each resume adds one.
    if job["attempts"] != 1 + len(resumes):
        problems.append(f"{job_id}: attempts {job['attempts']} after {len(resumes)} resumes")
    for kill in kills:
        if kill.phase != "processing":
            continue
        # The next claim after a kill in processing is a resume from exactly the checkpoint the dead
        # worker had committed (its lease kept everyone else off the job until then).
        expected = {"attempt": kill.attempt + 1, "checkpoint": kill.checkpoint}
        if not any(resume.get("attempt") == expected["attempt"] for resume in resumes):
            problems.append(f"{job_id}: no resume after the kill of attempt {kill.attempt}: {resumes}")
        elif not any(
            resume.get("attempt") == expected["attempt"] and resume.get("checkpoint") == expected["checkpoint"]
            for resume in resumes
        ):
            problems.append(f"{job_id}: resume after the kill of attempt {kill.attempt} is not {expected}: {resumes}")

    markers = query(backend, "SELECT attempt, stage FROM test_fault_pre WHERE job_id = :id", {"id": job_id})
    started = sorted(row["attempt"] for row in markers if row["stage"] == "started")
    finished = {row["attempt"] for row in markers if row["stage"] == "done"}
    kept = result.get("pre_processed_by")
    figures.interrupted_pre += max(len(started) - 1, 0)
    # The pre-process whose result the job kept is the last one that started, it finished, and it
    # started after every pre-process a kill interrupted.
    if not started or kept != started[-1] or kept not in finished:
        problems.append(f"{job_id}: kept the pre-process of attempt {kept}; started {started}, finished {finished}")
    for kill in kills:
        if kill.phase == "pre-processing" and not (isinstance(kept, int) and kept > kill.attempt):
            problems.append(f"{job_id}: kept pre-process {kept}, not one after the kill of attempt {kill.attempt}")
    pre_kills = sum(1 for kill in kills if kill.phase == "pre-processing")
    if len(started) > 1 + pre_kills:
        problems.append(f"{job_id}: {len(started)} pre-processes started but only {pre_kills} were killed")
    return problems
