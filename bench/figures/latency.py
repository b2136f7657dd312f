"""How soon an idle worker starts a confirmed job: ``processing_at - confirmed_at``, median of K jobs.

One `batchctl worker` runs idle. Each sample creates a dry-run noop job, waits (outside the measure)
until the worker has pre-processed it and gone idle again, then confirms it in-process and reads both
timestamps from the job's row: each is written by the process that made the transition, on one clock.

The idle time before each confirm is random (uniform over many poll intervals): a fixed pause lines every
sample up at the same point of the dispatcher's poll and measures that point, not the median.
"""

from __future__ import annotations

import random
import statistics
import time

from harness import Figure, Goal, Options, progress, seconds_text
from stages import Backend, seconds_between, wait_for_job

GOALS = {"sqlite": 0.5, "postgres": 0.2}


def confirm_latency(backend: Backend, options: Options) -> list[Figure]:
    from batchctl.service import confirm_job, create_job

    samples: list[float] = []
    rng = random.Random(20261201)  # the same moments in every run, so that runs compare
    with backend.stage() as stage, stage.worker():
        runtime = stage.runtime()
        for _ in range(options.latency_samples):
            job_id = create_job(runtime, "noop", {}, dry_run=True)["id"]
            wait_for_job(runtime, job_id, ("pre_processed",), timeout=60)
            time.sleep(rng.uniform(0.1, 0.6))  # the worker idles, as it would between jobs
            confirm_job(runtime, job_id)
            job = wait_for_job(runtime, job_id, ("processing", "completed"), timeout=60)
            samples.append(seconds_between(job, "confirmed_at", "processing_at"))
        runtime.db.discard_connection()
    p50 = statistics.median(samples)
    progress(options, f"{backend.name} confirm → processing: p50 {p50 * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms")
    return [
        Figure(
            figure=f"confirm → processing p50, idle worker (K={len(samples)})",
            backend=backend.name,
            batchctl=p50,
            batchctl_text=seconds_text(p50),
            goal=Goal("<=", GOALS[backend.name], "s"),
            samples={"batchctl": samples},
        )
    ]
