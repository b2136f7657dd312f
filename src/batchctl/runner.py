"""Running a job's strategy for one wake-up: claim, pre-process or process, then the next transition."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from batchctl import jobrows, leases, lifecycle, store
from batchctl.backoff import backoff_seconds
from batchctl.config import Settings
from batchctl.db import Database, Row, Tx, utcnow
from batchctl.errors import (
    BackendUnavailable,
    BatchctlError,
    InvalidTransition,
    JobCanceled,
    LeaseLost,
    NotFound,
    Unstorable,
)
from batchctl.lifecycle import JobStatus
from batchctl.registry import Registry
from batchctl.storable import safe_text
from batchctl.strategy import BatchJobStrategy, Job

log = logging.getLogger("batchctl.worker")


class WorkerStopping(BatchctlError):
    """The worker is shutting down; the job is handed back after the chunk that just committed."""


@dataclass
class ActiveLeases:
    """The (job id, token) pairs this process holds, for the heartbeat and for burst mode."""

    _held: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job_id: str, token: str) -> None:
        with self._lock:
            self._held[job_id] = token

    def discard(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)

    def snapshot(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._held.items())

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


class Runner:
    """Handles wake-ups in one worker process."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        registry: Registry,
        *,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self.db = db
        self.registry = registry
        self.should_stop = should_stop
        self.active = ActiveLeases()
        self.lease = timedelta(seconds=settings.lease_seconds)

    def handle(self, event: str, job_id: str) -> None:
        """Do what a job needs after ``event``; duplicated or stale wake-ups do nothing."""
        if event == "batch.created":
            self._run(job_id, pre_process=True)
        elif event in ("batch.confirmed", "batch.processing"):
            self._run(job_id, pre_process=False)

    # -- one phase -------------------------------------------------------------------------------------------

    def _run(self, job_id: str, *, pre_process: bool) -> None:
        token = leases.new_token()
        now = utcnow()
        # A claim for pre-processing is one UPDATE; one for processing may also record a resume.
        with self.db.transaction(one_write_on_postgres=pre_process) as tx:
            claim = leases.claim_for_pre_process if pre_process else leases.claim_for_process
            row = claim(tx, job_id, token, now, self.lease)
        if row is None:
            return
        self.active.add(job_id, token)
        try:
            self._run_claimed(row, token, pre_process=pre_process)
        except BackendUnavailable:
            raise  # an outage: the lease runs out and the job resumes when the database is back
        except Exception as error:
            self._fail_refused_write(row, token, error)
        finally:
            self.active.discard(job_id)

    def _fail_refused_write(self, row: Row, token: str, error: Exception) -> None:
        """A write of the runner's own was refused, and not for an outage (a constraint, a trigger, a value the
        database rejects that ``storable`` does not know of): it would be refused again at every lease, so
        the job fails now with the error, keeping what was stored. One log line, no traceback loop."""
        first_line = (_message(error).splitlines() or [""])[0]
        log.warning(
            "%s: the database refused a write: %s: %s; failing the job", row["id"], type(error).__name__, first_line
        )
        job = self._job(row, token)
        job.discard_unwritten()
        job.add_error(f"the database refused a write: {_message(error)}", code=type(error).__name__)
        self._transition(job, token, lifecycle.FAIL, {"lease_until": None})

    def _run_claimed(self, row: Row, token: str, *, pre_process: bool) -> None:
        job = self._job(row, token)
        try:
            strategy = self.registry.get(row["type"]).create()
        except BatchctlError as error:
            self._fail(job, token, error, strategy=None)
            return
        try:
            if pre_process:
                strategy.pre_process(job)
                processing = self._finish_pre_process(job, token)
                if processing is None:
                    return  # a dry run waiting for confirm, or refused (canceled meanwhile)
                job = self._job(processing, token)
            strategy.process(job)
        except JobCanceled as stop:
            log.info("%s: %s", job.id, stop)
            self._after_cancel(job, strategy)
            return
        except LeaseLost as stop:
            log.info("%s: %s", job.id, stop)
            return
        except BackendUnavailable as outage:
            # Not the job's fault: leave it as it is; its lease runs out and it resumes from its checkpoint.
            log.warning("%s: %s; the job resumes when the backend is back", job.id, outage)
            return
        except WorkerStopping:
            with self.db.transaction() as tx:
                leases.release(tx, job.id, token, utcnow())
            log.info("%s: handed back at advancement_count %s", job.id, job.advancement_count)
            return
        except Exception as error:
            self._on_error(job, token, strategy, error)
            return
        try:
            refused = self._transition(job, token, lifecycle.COMPLETE, {"lease_until": None})
        except Unstorable as error:  # what the strategy left in its result cannot be written
            self._on_error(job, token, strategy, error)
            return
        if isinstance(refused, InvalidTransition) and refused.current is JobStatus.CANCELED:
            self._after_cancel(job, strategy)  # canceled after the last chunk, before it could complete

    def _after_cancel(self, job: Job, strategy: BatchJobStrategy) -> None:
        try:
            strategy.on_canceled(job)
            job.write_result_after_cancel()
        except Unstorable as error:  # the cancel stands; what on_canceled set is not written
            log.warning("%s: on_canceled's result not written: %s", job.id, error)
        except Exception:  # the cancel stands whatever the clean-up does; say what went wrong
            log.exception("%s: on_canceled failed", job.id)

    def _job(self, row: Row, token: str) -> Job:
        return Job(
            self.db,
            row,
            worker=token,
            lease_seconds=self.settings.lease_seconds,
            files_dir=self.settings.files_dir,
            after_commit=self._stop_if_asked,
        )

    def _stop_if_asked(self) -> None:
        """After each committed chunk: a stopping worker hands the job back."""
        if self.should_stop():
            raise WorkerStopping()

    def _finish_pre_process(self, job: Job, token: str) -> Row | None:
        """pre_processed (+ confirmed and processing, unless dry run) in one transaction.

        Returns the job's row when this worker goes on to process it, else None.
        """
        now = utcnow()
        try:
            with self.db.transaction(one_write_on_postgres=True) as tx:  # either branch writes one statement
                if job.dry_run:
                    release = {"worker": None, "lease_until": None, "attempts": 0}
                    columns = {**job.pending_columns(), **release}
                    lifecycle.apply(tx, job.id, lifecycle.PRE_PROCESS, now=now, worker=token, set_columns=columns)
                    return None
                # Straight on to processing, keeping the lease: pre_processed, confirmed and processing
                # are stamped and announced as three moves, written by one statement.
                row = lifecycle.apply_chain(
                    tx,
                    job.id,
                    [
                        (lifecycle.PRE_PROCESS, None),
                        (lifecycle.AUTO_CONFIRM, {"auto": True}),
                        (lifecycle.START_PROCESSING, None),
                    ],
                    now=now,
                    worker=token,
                    set_columns={
                        **job.pending_columns(),
                        **leases.lease_columns(token, now, self.lease),
                        "attempts": 1,  # processing counts its own attempts, as after a confirm
                    },
                )
        except (InvalidTransition, NotFound) as refused:
            log.info("%s: not pre-processed: %s", job.id, refused)
            return None
        return store.decode_row(row)

    def _transition(
        self, job: Job, token: str, transition: lifecycle.Transition, columns: dict[str, object]
    ) -> InvalidTransition | NotFound | None:
        """Apply a worker's transition; the refusal when the job was canceled or taken over meanwhile."""
        try:
            with self.db.transaction(one_write_on_postgres=True) as tx:  # apply writes with one statement there
                lifecycle.apply(
                    tx, job.id, transition, now=utcnow(), worker=token, set_columns={**job.pending_columns(), **columns}
                )
        except (InvalidTransition, NotFound) as refused:
            # Canceled (or taken over) while we worked: the other side's status stands.
            log.info("%s: %s refused: %s", job.id, transition.action, refused)
            return refused
        return None

    # -- failures ---------------------------------------------------------------------------------------------

    def _on_error(self, job: Job, token: str, strategy: BatchJobStrategy, error: Exception) -> None:
        log.warning("%s: attempt %s failed: %s: %s", job.id, job.attempt, type(error).__name__, error)
        max_attempts = self.settings.max_attempts or strategy.max_attempts
        try:
            # What cannot be stored cannot be stored on the next attempt either: never retried.
            retry = (
                not isinstance(error, Unstorable) and job.attempt < max_attempts and strategy.should_retry(job, error)
            )
        except Exception:
            log.exception("%s: should_retry raised; not retrying", job.id)
            retry = False
        if not retry:
            self._fail(job, token, error, strategy=strategy)
            return
        delay = backoff_seconds(job.attempt, base=self.settings.retry_base_seconds)
        now = utcnow()
        attempt_error = {"message": _message(error), "code": type(error).__name__, "attempt": job.attempt}
        job.set_result(errors=[*job.result.get("errors", []), attempt_error])
        try:
            with self.db.transaction() as tx:
                self._write_pending(tx, job, token, now)
                if leases.release(tx, job.id, token, now, not_before=now + timedelta(seconds=delay)):
                    jobrows.record_event(
                        tx,
                        job.id,
                        "batch.updated",
                        now,
                        {"action": "retry", "attempt": job.attempt, "error": _message(error), "delay": round(delay, 3)},
                    )
        except Unstorable as unstorable:  # the result the attempt left cannot be written: no retry can help
            log.warning("%s: %s", job.id, unstorable)
            self._fail(job, token, unstorable, strategy=strategy)

    def _write_pending(self, tx: Tx, job: Job, token: str, now: datetime) -> None:
        columns = job.pending_columns()
        if columns:
            jobrows.write_held(tx, job.id, worker=token, columns=columns, now=now)

    def _fail(self, job: Job, token: str, error: Exception, *, strategy: BatchJobStrategy | None) -> None:
        if isinstance(error, Unstorable):
            job.discard_unwritten()  # keep what was stored; the error says what was not
        if strategy is None:
            job.add_error(_message(error), code=type(error).__name__)
        else:
            try:
                strategy.handle_error(job, error)
            except Exception as handler_error:
                log.exception("%s: handle_error raised", job.id)
                job.add_error(_message(error), code=type(error).__name__)
                job.add_error(f"handle_error failed: {_message(handler_error)}", code=type(handler_error).__name__)
        try:
            self._transition(job, token, lifecycle.FAIL, {"lease_until": None})
        except Unstorable as unstorable:
            # handle_error left something that cannot be stored either: fail with the stored result and
            # the two errors, which can always be written.
            log.warning("%s: %s", job.id, unstorable)
            job.discard_unwritten()
            job.add_error(_message(error), code=type(error).__name__)
            job.add_error(f"the failure could not be recorded as handle_error left it: {unstorable}", code="Unstorable")
            self._transition(job, token, lifecycle.FAIL, {"lease_until": None})


def _message(error: BaseException) -> str:
    """The error as one storable line of text."""
    return safe_text(str(error)) or type(error).__name__
