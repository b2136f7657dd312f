"""The worker's delivery thread: materialise deliveries from the event log, then deliver them, per subscriber.

Each subscriber gets at most one batch in flight in this process at a time, run on a small thread pool:
a slow or hanging subscriber (a webhook that never answers until its timeout) holds up only itself.
The job consumers are other threads with their own connections, so deliveries never hold up a job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from batchctl import leases
from batchctl.backoff import backoff_seconds
from batchctl.config import Settings
from batchctl.db import Database, Row, utcnow
from batchctl.events import Event
from batchctl.store import public_event, public_job
from batchctl.subscribers import cursors, webhooks
from batchctl.subscribers.registry import SubscriberInfo

log = logging.getLogger("batchctl.subscribers")

CLAIM_BATCH = 50
POOL_SIZE = 4
# How long a finished delivery's error text may be in the table.
ERROR_LIMIT = 2000


def python_row(info: SubscriberInfo) -> dict[str, Any]:
    """The ``batch_subscriber`` columns a Python subscriber describes about itself."""
    return {
        "name": info.name,
        "kind": "python",
        "source": info.source,
        "origin": info.origin,
        "events": list(info.filter.events),
        "types": list(info.filter.types),
        "max_attempts": info.max_attempts,
        "timeout_seconds": None,
    }


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: success, or the error; for webhooks also the status code and latency."""

    error: str | None
    status_code: int | None = None
    latency_ms: float | None = None


class Deliverer:
    """Delivers every subscriber's events from this worker process."""

    def __init__(self, settings: Settings, db: Database, python: dict[str, SubscriberInfo]) -> None:
        self.settings = settings
        self.db = db
        self.python = python
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="batchctl-delivery")
        self._in_flight: dict[str, Future[int]] = {}
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self.idle_rounds = 0

    # -- the loop ---------------------------------------------------------------------------------------------

    def register(self) -> None:
        """Record this process's Python subscribers (a new one starts at the latest event)."""
        with self.db.transaction() as tx:
            now = utcnow()
            for info in self.python.values():
                cursors.upsert_subscriber(tx, python_row(info), now)

    def round(self) -> int:
        """Materialise what is new and start a batch for each subscriber that has none running; work found."""
        with self.db.transaction() as tx:
            read = cursors.materialise(tx, utcnow())
            subscribers = cursors.all_subscribers(tx)
        started = 0
        with self._lock:
            for name in [name for name, future in self._in_flight.items() if future.done()]:
                future = self._in_flight.pop(name)
                error = future.exception()
                if error is not None:  # a database outage mid-batch: the leases run out, the work comes back
                    log.warning("deliveries to %s: %s", name, error)
                    self.db.discard_connection()
                else:
                    started += future.result()
            for row in subscribers:
                if row["name"] in self._in_flight or not self._knows(row):
                    continue
                self._in_flight[row["name"]] = self._pool.submit(self._deliver_batch, row)
        found = read + started
        self.idle_rounds = 0 if found else self.idle_rounds + 1
        return found

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set; outages are logged and waited out, never fatal."""
        delay = self.settings.poll_interval
        while not stop.is_set():
            try:
                found = self.round()
            except Exception as error:  # database down: keep trying (the supervisor sees the thread alive)
                log.warning("deliveries: %s", error)
                self.db.discard_connection()
                found = 0
                delay = min(max(delay * 2, self.settings.poll_interval), 5.0)
            else:
                delay = self.settings.poll_interval
            if not found:
                stop.wait(delay)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _knows(self, row: Row) -> bool:
        return row["kind"] == "webhook" or row["name"] in self.python

    def held_tokens(self) -> list[str]:
        """The claim tokens of batches running now (for the heartbeat to renew)."""
        with self._lock:
            return list(self._held)

    def backlog(self) -> int:
        """Deliveries this process could still make (for burst mode), plus events not yet materialised."""
        with self._lock:
            running = sum(1 for future in self._in_flight.values() if not future.done())
        with self.db.transaction(write=False) as tx:
            names = [row["name"] for row in cursors.all_subscribers(tx) if self._knows(row)]
            return running + cursors.backlog(tx, names)

    # -- one batch -----------------------------------------------------------------------------------------

    def _deliver_batch(self, subscriber: Row) -> int:
        token = leases.new_token()
        with self._lock:
            self._held.add(token)
        try:
            with self.db.transaction(one_write_on_postgres=True) as tx:
                claimed = cursors.claim(tx, subscriber["name"], token, utcnow(), self.lease, CLAIM_BATCH)
            if not claimed:
                return 0
            with self.db.transaction(write=False) as tx:
                events, jobs = cursors.events_and_jobs(tx, claimed)
            for delivery in claimed:
                event, job = events.get(int(delivery["event_id"])), jobs.get(delivery["job_id"])
                if event is None:  # pruned meanwhile (cascade): nothing left to deliver
                    continue
                self._deliver_one(subscriber, delivery, token, event, job)
            return len(claimed)
        finally:
            with self._lock:
                self._held.discard(token)

    def _deliver_one(self, subscriber: Row, delivery: Row, token: str, event: Row, job: Row | None) -> None:
        job_json = public_job(job) if job is not None else None
        started = utcnow()
        if subscriber["kind"] == "webhook":
            outcome = self._post(subscriber, delivery, event, job_json)
        else:
            outcome = self._call(self.python[subscriber["name"]].function, event, job_json)
        self._record(subscriber, delivery, token, outcome, started)

    def _call(self, function: Callable[[Event], object], event: Row, job: dict[str, Any] | None) -> Outcome:
        try:
            function(Event.from_row(event, job))
        except Exception as error:  # the subscriber's own failure: retried, then parked
            log.warning("subscriber %s failed on event %s: %s", function.__name__, event["id"], error)
            return Outcome(f"{type(error).__name__}: {error}")
        return Outcome(None)

    def _post(self, subscriber: Row, delivery: Row, event: Row, job: dict[str, Any] | None) -> Outcome:
        delivery_id = f"{subscriber['name']}:{delivery['event_id']}"
        body = webhooks.payload(delivery_id, public_event(event), job)
        answer = webhooks.post(
            subscriber["origin"],
            body,
            secret=subscriber["secret"] or "",
            delivery_id=delivery_id,
            event_name=event["name"],
            timeout=float(subscriber["timeout_seconds"] or webhooks.DEFAULT_TIMEOUT),
        )
        return Outcome(
            None if answer.ok else (answer.error or f"HTTP {answer.status_code}"), answer.status_code, answer.latency_ms
        )

    def _record(self, subscriber: Row, delivery: Row, token: str, outcome: Outcome, started: Any) -> None:
        now = utcnow()
        attempt = int(delivery["attempts"])
        columns: dict[str, Any] = {"status_code": outcome.status_code, "latency_ms": outcome.latency_ms}
        next_try = None
        if outcome.error is None:
            step = cursors.SUCCEED
            columns["last_error"] = None
        elif attempt >= int(subscriber["max_attempts"]):
            step = cursors.PARK
            columns["last_error"] = outcome.error[:ERROR_LIMIT]
        else:
            step = cursors.RETRY
            delay = backoff_seconds(attempt, base=self.settings.retry_base_seconds, floor=0.5)
            next_try = now + timedelta(seconds=delay)
            columns.update(last_error=outcome.error[:ERROR_LIMIT], next_try_at=next_try)
        # A webhook's every attempt goes to its delivery log; a Python subscriber's row says enough.
        with self.db.transaction(one_write_on_postgres=subscriber["kind"] != "webhook") as tx:
            moved = cursors.move(tx, int(delivery["id"]), step, now=now, token=token, columns=columns)
            if moved and subscriber["kind"] == "webhook":
                cursors.log_attempt(
                    tx,
                    int(delivery["id"]),
                    {
                        "attempt": attempt,
                        "started_at": started,
                        "status_code": outcome.status_code,
                        "latency_ms": outcome.latency_ms or 0.0,
                        "error": outcome.error[:ERROR_LIMIT] if outcome.error else None,
                        "outcome": step.name,
                        "next_try_at": next_try,
                    },
                )
        if not moved:
            log.info("delivery %s: the claim was lost (its lease ran out); another worker has it", delivery["id"])
