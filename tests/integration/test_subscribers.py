"""Subscribers (issue 14): every event reaches every subscriber at least once, in order per job, across crashes.

Real worker processes on both backends; the recorder subscriber (tests/subscribers/record) appends a start and
an end line per delivery to a file, so the test sees what each process delivered and when.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import time
from collections import defaultdict
from pathlib import Path

from tests.conftest import Backend, wait_until
from tests.integration.subscribers import (
    Delivery,
    create_jobs,
    delivery_counts,
    events_by_job,
    recorded,
    use_subscribers,
    wait_all_delivered,
)


def per_job(deliveries: list[Delivery], phase: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.phase == phase:
            found[delivery.job_id].append(delivery.event_id)
    return dict(found)


def overlapping(deliveries: list[Delivery]) -> list[tuple[str, int, int]]:
    """Deliveries of one job by two processes at the same time: (job, event, other event)."""
    starts = {(d.pid, d.job_id, d.event_id): d.at for d in deliveries if d.phase == "start"}
    spans: dict[str, list[tuple[int, int, int, int]]] = defaultdict(list)
    for d in deliveries:
        if d.phase == "end" and (d.pid, d.job_id, d.event_id) in starts:
            spans[d.job_id].append((starts[(d.pid, d.job_id, d.event_id)], d.at, d.pid, d.event_id))
    clashes = []
    for job_id, intervals in spans.items():
        intervals.sort()
        latest_end, latest_pid, latest_event = -1, 0, 0  # the delivery that runs longest among those so far
        for start, end, pid, event in intervals:
            if start < latest_end and pid != latest_pid:
                clashes.append((job_id, latest_event, event))
            if end > latest_end:
                latest_end, latest_pid, latest_event = end, pid, event
    return clashes


def test_every_event_of_100_jobs_reaches_the_subscriber_once_in_order_per_job(backend: Backend) -> None:
    record = backend.tmp / "record.txt"
    use_subscribers(backend, "record", SUBS_RECORD_FILE=str(record))
    backend.start_worker()
    backend.start_worker()
    jobs = create_jobs(backend, 100)

    wait_all_delivered(backend, "recorder")

    expected = events_by_job(backend)
    assert sorted(expected) == sorted(jobs)
    assert all(len(ids) == 5 for ids in expected.values())  # created … completed
    ends = per_job(recorded(record), "end")
    assert ends == expected  # each exactly once (no crash here), in the job's own order
    assert overlapping(recorded(record)) == []


def test_kill_9_of_workers_during_delivery_loses_no_event(backend: Backend) -> None:
    record = backend.tmp / "record.txt"
    # Short leases so that a killed worker's claims come back quickly; deliveries sleep so kills land in them.
    use_subscribers(backend, "record", SUBS_RECORD_FILE=str(record), SUBS_SLEEP_MS="300", BATCHCTL_LEASE_SECONDS="2")
    workers = [backend.start_worker(), backend.start_worker()]
    jobs = create_jobs(backend, 100)
    rng = random.Random(14)
    for _ in range(20):
        victim = rng.randrange(len(workers))
        # Kill it while it delivers: once it has started a delivery, at a random moment after.
        pid = workers[victim].pid
        wait_until(lambda: any(d.pid == pid and d.phase == "start" for d in recorded(record)), timeout=60)  # noqa: B023
        time.sleep(rng.uniform(0, 0.3))
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait()
        workers[victim] = backend.start_worker()

    wait_all_delivered(backend, "recorder", timeout=float(os.environ.get("SUBS_WAIT", "240")))

    expected = events_by_job(backend)
    assert sorted(expected) == sorted(jobs)
    deliveries = recorded(record)
    ends = per_job(deliveries, "end")
    starts = per_job(deliveries, "start")
    for job_id, ids in expected.items():
        # At least once: every event was delivered to the end; nothing that is not an event of the job.
        assert set(ends.get(job_id, [])) == set(ids), job_id
        # In order: a delivery never goes back to an earlier event of the job (a re-delivery repeats the last one).
        attempted = starts[job_id]
        assert all(later >= earlier for earlier, later in itertools.pairwise(attempted)), attempted
    assert overlapping(deliveries) == []
    twice = sum(len(ids) - len(set(ids)) for ids in ends.values())
    started_again = sum(len(ids) - len(set(ids)) for ids in starts.values())
    print(
        f"\n[{backend.name}] 20 kill -9: {sum(map(len, expected.values()))} events, "
        f"{twice} delivered twice to the end, {started_again} deliveries started again"
    )


def test_a_subscriber_that_always_raises_parks_its_events_and_holds_up_nothing(backend: Backend) -> None:
    record = backend.tmp / "record.txt"
    flag = backend.tmp / "fail.flag"
    flag.write_text("fail")
    use_subscribers(
        backend,
        "record",
        "failing",
        SUBS_RECORD_FILE=str(record),
        SUBS_FAIL_FLAG=str(flag),
        BATCHCTL_RETRY_BASE_SECONDS="0.05",
    )
    backend.start_worker()
    jobs = create_jobs(backend, 5)

    wait_all_delivered(backend, "recorder")
    # The jobs completed and the recorder saw every event, although "flaky" raised on each of its own.
    assert all(backend.cli("show", job, "--json").json()["status"] == "completed" for job in jobs)
    assert per_job(recorded(record), "end") == events_by_job(backend)
    wait_until(lambda: delivery_counts(backend, "flaky") == {"parked": 10})  # created + completed, 5 jobs

    listed = {s["name"]: s for s in backend.cli("subscribers", "--json").json()["subscribers"]}
    assert listed["flaky"]["parked"] == 10 and listed["flaky"]["source"].startswith("folder ")
    assert listed["recorder"]["parked"] == 0 and listed["recorder"]["lag"] == 0

    flag.unlink()
    replayed = backend.cli("subscribers", "replay", "flaky", "--since", "1h", "--parked")
    assert replayed.code == 0, replayed.stderr
    assert "10 deliveries" in replayed.stdout
    wait_until(lambda: delivery_counts(backend, "flaky") == {"done": 10})
    done = sorted(int(line) for line in Path(f"{flag}.done").read_text().split())
    wanted = [e for job_events in events_by_job(backend).values() for e in (job_events[0], job_events[-1])]
    assert done == sorted(wanted)


def test_replay_since_delivers_done_events_again(backend: Backend) -> None:
    record = backend.tmp / "record.txt"
    use_subscribers(backend, "record", SUBS_RECORD_FILE=str(record))
    create_jobs(backend, 2)
    assert backend.burst().code == 0
    assert len(per_job(recorded(record), "end")) == 2
    assert backend.cli("subscribers", "replay", "recorder", "--since", "1h").stdout.startswith("10 ")
    assert backend.burst().code == 0
    ends = per_job(recorded(record), "end")
    assert {job: sorted(ids) for job, ids in ends.items()} == {
        job: sorted(ids * 2) for job, ids in events_by_job(backend).items()
    }


def test_unknown_subscriber_and_bad_since_are_one_line_errors(backend: Backend) -> None:
    missing = backend.cli("subscribers", "replay", "nobody", "--since", "1h")
    assert missing.code == 3 and missing.stderr.startswith("error: subscriber nobody was not found")
    bad = backend.cli("subscribers", "replay", "nobody", "--since", "yesterday")
    assert bad.code == 2 and bad.stderr.count("\n") == 1


def test_prune_keeps_jobs_a_subscriber_still_needs(backend: Backend) -> None:
    flag = backend.tmp / "fail.flag"
    flag.write_text("fail")
    use_subscribers(backend, "failing", SUBS_FAIL_FLAG=str(flag), BATCHCTL_RETRY_BASE_SECONDS="0.05")
    jobs = create_jobs(backend, 2)
    assert backend.burst().code == 0
    assert delivery_counts(backend, "flaky") == {"parked": 4}
    # Finished, but their events are parked for "flaky": prune leaves them (and their events) alone.
    kept = backend.cli("prune", "--older-than", "0s", "--json").json()
    assert kept["jobs"] == [] and sorted(events_by_job(backend)) == sorted(jobs)

    flag.unlink()
    assert backend.cli("subscribers", "replay", "flaky", "--since", "1h", "--parked").code == 0
    assert backend.burst().code == 0
    assert delivery_counts(backend, "flaky") == {"done": 4}
    pruned = backend.cli("prune", "--older-than", "0s", "--json").json()
    assert sorted(pruned["jobs"]) == sorted(jobs)
    assert events_by_job(backend) == {} and delivery_counts(backend, "flaky") == {}
