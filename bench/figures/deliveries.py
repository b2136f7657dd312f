"""Events delivered per second to a no-op subscriber while no-op jobs run, against event rows written per second.

One run, one database: N ``noop`` jobs are created in-process, then W `batchctl worker --burst` processes
run them and deliver every event to ``bench/subscribers/noop_subscriber.py`` (burst workers exit once both
the jobs and the deliveries are done). From the rows' own timestamps: the write rate is the events over the
span from the first event to the last, the delivery rate the same events over the span from the first event
to the last delivery. The ratio (>= 0.8: delivery keeps up) is write span ÷ delivery span; every event is
checked to have been delivered.
"""

from __future__ import annotations

import statistics
import time

from harness import Figure, Goal, Options, progress
from stages import BENCH, Backend, batchctl_command, patience

from batchctl.db import to_datetime
from figures.lifecycle import _run_all

WORKERS = 2


def _round(backend: Backend, options: Options, details: dict[str, list[float]]) -> float:
    from batchctl.service import create_job
    from batchctl.subscribers.manage import Subscriptions

    with backend.stage(BATCHCTL_SUBSCRIBERS=str(BENCH / "subscribers")) as stage:
        runtime = stage.runtime()
        runtime.registry()
        Subscriptions(runtime).status()  # the subscriber is recorded before the first event
        for _ in range(options.jobs):
            create_job(runtime, "noop", {}, dry_run=False)
        started = time.perf_counter()
        _run_all([[*batchctl_command(), "worker", "--burst"]] * WORKERS, stage, patience(options.jobs, 0.5))
        details["drain_s"].append(time.perf_counter() - started)
        with runtime.db.transaction(write=False) as tx:
            events = tx.execute(
                "SELECT COUNT(*) AS n, MIN(created_at) AS a, MAX(created_at) AS b FROM batch_job_event"
            ).one_or_none()
            done = tx.execute(
                "SELECT COUNT(*) AS n, MAX(done_at) AS b FROM batch_delivery WHERE status = 'done'"
            ).one_or_none()
        runtime.db.discard_connection()
    assert events is not None and done is not None
    if done["n"] != events["n"]:
        raise RuntimeError(f"{backend.name}: {done['n']} of {events['n']} events were delivered")
    first, last_event, last_done = (to_datetime(v) for v in (events["a"], events["b"], done["b"]))
    assert first is not None and last_event is not None and last_done is not None
    write_span = (last_event - first).total_seconds()
    delivery_span = (last_done - first).total_seconds()
    details["events"].append(float(events["n"]))
    details["write_rate"].append(events["n"] / write_span)
    details["delivery_rate"].append(events["n"] / delivery_span)
    ratio = write_span / delivery_span
    progress(
        options,
        f"{backend.name} deliveries: {events['n']} events, written over {write_span:.2f} s, "
        f"delivered by {delivery_span:.2f} s (ratio {ratio:.2f})",
    )
    return ratio


def keeps_up(backend: Backend, options: Options) -> list[Figure]:
    details: dict[str, list[float]] = {"drain_s": [], "events": [], "write_rate": [], "delivery_rate": []}
    ratios = [_round(backend, options, details) for _ in range(options.rounds)]
    delivered = statistics.median(details["delivery_rate"])
    written = statistics.median(details["write_rate"])
    return [
        Figure(
            figure=f"events delivered to a no-op subscriber, {WORKERS} workers (N={options.jobs} jobs)",
            backend=backend.name,
            batchctl=delivered,
            batchctl_text=f"{delivered:.0f} events/s",
            baseline=written,
            baseline_text=f"{written:.0f} written/s",
            ratio=statistics.median(ratios),
            goal=Goal(">=", 0.8),
            samples={"ratio": ratios, **details},
            notes=[
                f"{backend.name} deliveries: {statistics.median(details['events']):.0f} events per round; "
                f"burst workers drained jobs and deliveries in {statistics.median(details['drain_s']):.2f} s"
            ],
        )
    ]
