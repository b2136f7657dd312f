"""``batchctl worker``: Huey consumers that handle wake-ups, plus dispatcher, heartbeat, scheduler, delivery threads.

The database is the source of truth and the queue only a wake-up call: the dispatcher finds jobs
that need a worker (``leases.wake_due``: new, confirmed, or whose lease expired) and enqueues one
wake-up each; consumers claim the job with a conditional UPDATE, so a lost wake-up is sent again
later and a duplicated one does nothing. The scheduler creates the jobs of due schedule ticks
(``schedules.create_due``): every worker looks, and exactly one creates each tick's job.
The delivery thread (``subscribers.deliver``) hands each
event to every subscriber, on its own threads and connections.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import Any

from huey.consumer import Consumer, ConsumerStopped

from batchctl import bounds, leases, presence, schedules
from batchctl.config import Settings, mask_url
from batchctl.db import utcnow
from batchctl.errors import BackendUnavailable
from batchctl.files import FileStore
from batchctl.prune import sweep_stopped
from batchctl.queue import check_queue, make_huey, queue_file
from batchctl.runner import Runner
from batchctl.runtime import Runtime
from batchctl.subscribers import cursors
from batchctl.subscribers.deliver import Deliverer
from batchctl.subscribers.registry import load_subscribers

log = logging.getLogger("batchctl.worker")
SCHEDULE_INTERVAL = 1.0  # seconds between two looks for due schedule ticks
# Every signal that asks a worker to stop stops it the same graceful way (see Worker._on_stop_signal).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Worker:
    """One worker process: N consumer threads, a dispatcher and a heartbeat."""

    def __init__(self, settings: Settings, *, concurrency: int = 1, burst: bool = False) -> None:
        self.settings = settings
        self.concurrency = bounds.CONCURRENCY.check("concurrency", concurrency)
        self.burst = burst
        runtime = Runtime(settings, checkpoint_commits=True, create_database=True)
        self.db = runtime.db
        self.huey = make_huey(settings)
        check_queue(settings, self.huey)
        self.stop = threading.Event()
        self.registry = runtime.registry()
        self.runner = Runner(settings, self.db, self.registry, should_stop=self.stop.is_set)
        self._busy = 0
        self._busy_lock = threading.Lock()
        self.wake = self.huey.task(name="wake")(self._handle)
        self.idle_dispatches = 0
        self.worker_id = leases.new_token()
        self.enqueue_error: str | None = None
        self.deliverer = Deliverer(settings, self.db, load_subscribers(settings.subscriber_paths))
        self.stop_signal: int | None = None
        self.joining = False  # the consumer is waiting for the running jobs to hand back

    def _handle(self, event: str, job_id: str) -> None:
        with self._busy_lock:
            self._busy += 1
        try:
            self.runner.handle(event, job_id)
        finally:
            with self._busy_lock:
                self._busy -= 1

    @property
    def busy(self) -> int:
        """How many wake-ups this process is handling right now."""
        with self._busy_lock:
            return self._busy

    # -- the two helper threads ------------------------------------------------------------------------

    def dispatch_once(self) -> int:
        """Enqueue a wake-up for each job that needs a worker; the marks commit only if enqueueing worked."""
        stale = timedelta(seconds=self.settings.reconcile_interval)
        with self.db.transaction() as tx:
            due = leases.wake_due(tx, utcnow(), stale)
            try:
                for event, job_id in due:
                    self.wake(event, job_id)
            except Exception as error:  # the queue refused a wake-up: the marks roll back with the raise
                self.enqueue_error = f"{type(error).__name__}: {error}"
                raise
        if due:
            self.enqueue_error = None
        return len(due)

    def _dispatch_loop(self) -> None:
        delay = self.settings.poll_interval
        while not self.stop.is_set():
            try:
                found = self.dispatch_once()
            except Exception as error:  # database or queue down: keep trying, never die
                log.warning("dispatcher: %s", error)
                self.db.discard_connection()
                found = 0
                delay = min(max(delay * 2, self.settings.poll_interval), 5.0)
            else:
                delay = self.settings.poll_interval
            self.idle_dispatches = 0 if found else self.idle_dispatches + 1
            if not found:
                self.stop.wait(delay)

    def _schedule_loop(self) -> None:
        # About once a second: fine enough for cron's minutes and `--every 2s`, one cheap SELECT when idle;
        # the same beat removes the partial files of jobs that stopped while no worker held them.
        file_store = FileStore(self.settings.files_dir)
        quiet = timedelta(seconds=self.settings.lease_seconds)
        while not self.stop.wait(SCHEDULE_INTERVAL):
            try:
                schedules.create_due(self.db, self.registry, file_store=file_store)
            except Exception as error:  # database down: the ticks stay due and are handled when it is back
                log.warning("scheduler: %s", error)
                self.db.discard_connection()
            try:
                # Files of jobs that were canceled (or failed) while no worker held them: see prune.sweep_stopped.
                sweep_stopped(self.db, file_store, utcnow(), quiet=quiet)
            except Exception as error:
                log.warning("file sweep: %s", error)
                self.db.discard_connection()

    def queue_error(self) -> str | None:
        """Why this worker cannot use the queue right now, or None."""
        return self.enqueue_error or getattr(type(self.huey), "outage", None)

    def _heartbeat_loop(self) -> None:
        lease = timedelta(seconds=self.settings.lease_seconds)
        while not self.stop.wait(self.settings.lease_seconds / 3):
            try:
                with self.db.transaction() as tx:
                    now = utcnow()
                    presence.beat(tx, self.worker_id, now=now, queue_error=self.queue_error())
                    held = self.runner.active.snapshot()
                    if held:
                        leases.renew(tx, held, now, lease)
                    cursors.renew(tx, self.deliverer.held_tokens(), now, lease)
            except Exception as error:
                log.warning("heartbeat: %s", error)
                self.db.discard_connection()

    def _supervised(self, loop: Callable[[threading.Event], None]) -> None:
        """Run a side thread's loop; if it dies, stop the whole worker loudly rather than run half-alive."""
        try:
            loop(self.stop)
        except BaseException:
            log.exception("%s died; stopping the worker", threading.current_thread().name)
            self.stop.set()
            # The consumer's loop sees the stop event and stops gracefully: running chunks commit.

    # -- running ------------------------------------------------------------------------------------------------

    def is_drained(self) -> bool:
        """Burst mode's test: nothing queued, nothing running here, no job left that needs a worker."""
        if self.busy or self.idle_dispatches < 2 or self.deliverer.idle_rounds < 2 or self.huey.pending_count():
            return False
        with self.db.transaction(write=False) as tx:
            if leases.pending_work(tx, utcnow()) or self.busy:
                return False
        return self.deliverer.backlog() == 0

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT, SIGTERM and SIGHUP: finish the running chunk, hand the job back, record the exit, exit 0.

        Huey's own handlers differ: SIGINT stops without waiting (the running job stays leased until its
        lease runs out) and SIGHUP re-executes the process (whose presence row is then never closed).
        A second stop signal during the graceful stop interrupts it: the job's lease then runs out.
        """
        if self.stop_signal is not None:
            if self.joining:  # raised where Huey's graceful join expects it, and nowhere else
                raise KeyboardInterrupt
            return
        self.stop_signal = signum
        log.info("received %s: stopping after the running chunks", signal.Signals(signum).name)
        self.stop.set()

    def run(self) -> None:
        """Run until SIGINT, SIGTERM or SIGHUP (graceful: the running chunk commits, the job is handed back)."""
        # Installed before anything is registered, so that no signal leaves a presence row behind.
        previous = {signum: signal.signal(signum, self._on_stop_signal) for signum in STOP_SIGNALS}
        try:
            self._run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _run(self) -> None:
        self.deliverer.register()
        threads = [
            threading.Thread(target=self._dispatch_loop, name="batchctl-dispatcher", daemon=True),
            threading.Thread(target=self._heartbeat_loop, name="batchctl-heartbeat", daemon=True),
            threading.Thread(target=self._schedule_loop, name="batchctl-scheduler", daemon=True),
            threading.Thread(
                target=self._supervised, args=(self.deliverer.run,), name="batchctl-deliveries", daemon=True
            ),
        ]
        with self.db.transaction() as tx:
            presence.register(
                tx,
                self.worker_id,
                host=leases.HOST,
                pid=os.getpid(),
                concurrency=self.concurrency,
                queue=mask_url(self.settings.redis_url) if self.settings.redis_url else str(queue_file(self.settings)),
                now=utcnow(),
            )
        for thread in threads:
            thread.start()
        consumer = _BatchctlConsumer(
            self,
            self.huey,
            workers=self.concurrency,
            worker_type="thread",
            periodic=False,
            initial_delay=min(0.01, self.settings.poll_interval),
            backoff=1.5,
            max_delay=self.settings.poll_interval,
        )
        try:
            if not self.stop.is_set():
                consumer.run()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=5)
            try:
                with self.db.transaction() as tx:
                    presence.stop(tx, self.worker_id, now=utcnow())
            except BackendUnavailable as error:  # it will simply look stale to the CLI
                log.warning("could not record this worker's exit: %s", error)


class _BatchctlConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer, which also tells batchctl to stop and, in burst mode, stops when drained."""

    def __init__(self, worker: Worker, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._worker = worker
        self._drained_checks = 0

    def _set_signal_handlers(self) -> None:
        """Keep batchctl's handlers (Worker.run): every stop signal sets the worker's stop event."""

    def stop(self, graceful: bool = False) -> None:
        self._worker.stop.set()
        self._worker.joining = graceful
        try:
            super().stop(graceful=graceful)
        finally:
            self._worker.joining = False

    def loop(self, health_check_ts: float | None = None) -> float | None:
        if self._worker.stop.is_set():  # a stop signal, or a side thread that died
            self.stop(graceful=True)
            raise ConsumerStopped()
        result: float | None = super().loop(health_check_ts)
        if self._worker.burst:
            try:
                drained = self._worker.is_drained()
            except BackendUnavailable as error:
                log.warning("burst check: %s", error)
                drained = False
            # Two drained checks in a row: a wake-up enqueued between the checks is not missed.
            self._drained_checks = self._drained_checks + 1 if drained else 0
            if self._drained_checks >= 2:
                self.stop(graceful=True)
                raise ConsumerStopped()
        return result


def run_worker(settings: Settings, *, concurrency: int, burst: bool) -> None:
    """Run a worker until it is stopped (or, with ``burst``, until no job needs one)."""
    Worker(settings, concurrency=concurrency, burst=burst).run()
