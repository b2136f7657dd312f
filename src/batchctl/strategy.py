"""The strategy API: ``BatchJobStrategy`` (what users write) and ``Job`` (what a strategy sees)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, ClassVar

from batchctl import files, jobrows
from batchctl.db import Database, Row, Tx, utcnow
from batchctl.errors import JobCanceled, LeaseLost
from batchctl.lifecycle import JobStatus
from batchctl.storable import check_int_column, safe_text


class BatchJobStrategy:
    """Base class for the code that does a batch job's work; subclass it and set ``batch_type``."""

    identifier: ClassVar[str] = ""
    batch_type: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # How many times process() may run in all when should_retry() says yes (BATCHCTL_MAX_ATTEMPTS wins).
    max_attempts: ClassVar[int] = 3
    # Context fields that name a file the job reads. At create, after prepare(), each is copied into the
    # file store under the job's id and the field then holds the store key (its original name goes to
    # ``<field without _key>_name``); the worker reads it with ``job.open_input(field)``, never the path.
    input_files: ClassVar[tuple[str, ...]] = ()

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise the context before the job exists; raise ValueError to refuse it."""
        return dict(context)

    def pre_process(self, job: Job) -> None:
        """Count and preview the work: ``job.set_count(n)``, ``job.add_stat(...)``."""

    def process(self, job: Job) -> None:
        """Do the work in chunks, calling ``job.advance(k)`` after each (inside ``job.transaction()``)."""

    def build_template(self) -> str:
        """Text a user downloads and fills in to create this kind of job ("" when there is none)."""
        return ""

    def on_canceled(self, job: Job) -> None:
        """Called once when the worker finds the job canceled (at an ``advance``, or when it was about to
        complete it): undo what lives outside the database, such as a partial file. Result changes made
        here (``set_result``) are written, as the only change a canceled job still takes."""

    def should_retry(self, job: Job, error: Exception) -> bool:
        """Whether ``error`` is worth another attempt (up to ``max_attempts``)."""
        return False

    def handle_error(self, job: Job, error: Exception) -> None:
        """Called once the job has failed for good; records the error by default."""
        job.add_error(str(error) or type(error).__name__, code=type(error).__name__)


class Job:
    """A running job as its strategy sees it; progress written through it is committed as it goes.

    ``after_commit`` is called after each commit of progress (the worker stops between chunks there).
    """

    def __init__(
        self,
        db: Database,
        row: Row,
        *,
        worker: str,
        lease_seconds: float,
        files_dir: Path,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._after_commit: Callable[[], None] = after_commit or _nothing
        self._worker = worker
        self._lease = timedelta(seconds=lease_seconds)
        self.files_dir = files_dir
        self.store = files.FileStore(files_dir)
        self.id: str = row["id"]
        self.type: str = row["type"]
        self.created_by: str = str(row.get("created_by") or "")
        self.context: Mapping[str, Any] = MappingProxyType(dict(row["context"] or {}))
        self.dry_run: bool = bool(row["dry_run"])
        self.attempt: int = int(row.get("attempts") or 0)
        self.count: int | None = row.get("count")
        self.advancement_count: int = int(row.get("advancement_count") or 0)
        self.checkpoint: int = self.advancement_count
        self._status = JobStatus(row["status"])
        self._result: dict[str, Any] = dict(row.get("result") or {})
        self._result_dirty = False
        self._count_dirty = False
        self._tx: Tx | None = None

    # -- what the strategy reads ------------------------------------------------------------------------

    @property
    def result(self) -> Mapping[str, Any]:
        """The result so far (read-only); change it with set_count/add_stat/add_error/set_result."""
        return MappingProxyType({**self._result, "count": self.count, "advancement_count": self.advancement_count})

    def open_input(self, field: str) -> BinaryIO:
        """Open the input file of context ``field`` from the file store (its copy made at create, or an upload
        of the job's creator); StoredFileRefused for anything else, a link, or a file outside the store."""
        key = self.context.get(field)
        allowed = (f"jobs/{self.id}/", f"uploads/{self.created_by}/")
        if not isinstance(key, str) or not key.startswith(allowed):
            raise files.StoredFileRefused(
                f"context.{field} is not a file this job was handed at create ({key!r}); create a new job"
            )
        return self.store.open_read(key)

    # -- what the strategy writes -----------------------------------------------------------------------

    def track_file(self, key: str, role: files.Role = files.Role.OUTPUT) -> Path:
        """Record that this job has the file ``key``, then return its path for the strategy to create.

        The record is committed first, so that a crash before the file is complete leaves a record
        (prune, and a cancel, remove the file) and never a file nobody knows about.
        """
        if self._tx is not None:
            raise RuntimeError("job.track_file() must be called outside job.transaction(): it commits first")
        with self._db.transaction() as tx:
            files.record(tx, self.id, key, role, utcnow())
        path = self.store.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def set_count(self, count: int) -> None:
        """How many units of work the job has (what ``advance`` counts towards)."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        self.count = count
        self._count_dirty = True

    def add_stat(self, key: str, name: str, message: str) -> None:
        """Add (or replace, by key) a stat descriptor shown in the preview."""
        stats = [s for s in self._result.get("stat_descriptors", []) if s.get("key") != key]
        stats.append({"key": key, "name": name, "message": message})
        self.set_result(stat_descriptors=stats)

    def add_error(self, message: str, code: str | None = None, row: int | None = None) -> None:
        """Record an error in ``result.errors`` (NUL and lone surrogates in the message are escaped)."""
        error: dict[str, Any] = {"message": safe_text(str(message))}
        if code is not None:
            error["code"] = code
        if row is not None:
            error["row"] = row
        self.set_result(errors=[*self._result.get("errors", []), error])

    def set_result(self, **fields: Any) -> None:
        """Set strategy-specific fields of ``result`` (JSON-serialisable values)."""
        reserved = {"count", "advancement_count", "progress"} & fields.keys()
        if reserved:
            raise ValueError(f"{sorted(reserved)} are managed by batchctl; use set_count()/advance()")
        self._result.update(fields)
        self._result_dirty = True

    # -- progress, commits and cancellation ------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A transaction for the strategy's own writes; ``advance()`` inside it commits with them."""
        if self._tx is not None:
            raise RuntimeError("job.transaction() does not nest")
        with self._db.transaction() as tx:
            self._tx = tx
            try:
                yield tx
            finally:
                self._tx = None
        self._after_commit()

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done, renew the lease; raise JobCanceled if the job was canceled.

        Inside ``job.transaction()`` this joins that transaction, so the chunk and its progress
        commit together (or, when canceled, roll back together).
        """
        if n < 0:
            raise ValueError(f"advance() takes n >= 0, got {n}")
        # Only processing counts progress; in pre-processing this renews the lease and checks cancel.
        step = n if self._status is JobStatus.PROCESSING else 0
        if self._tx is not None:
            self._write_progress(self._tx, step)
            self.advancement_count += step
            return
        with self._db.transaction() as tx:
            self._write_progress(tx, step)
        self.advancement_count += step
        self._after_commit()

    def heartbeat(self) -> None:
        """Renew the lease and check for cancel without counting progress (for long pre-processing)."""
        self.advance(0)

    def write_result_after_cancel(self) -> None:
        """Write the result changes ``on_canceled`` made; only this worker's claim may, and only on a canceled job."""
        if not self._result_dirty:
            return
        with self._db.transaction() as tx:
            jobrows.write_held(
                tx,
                self.id,
                worker=self._worker,
                columns={"result": self._result},
                now=utcnow(),
                status=JobStatus.CANCELED.value,
            )
        self._result_dirty = False

    def discard_unwritten(self) -> None:
        """Forget the result and count changes not written yet, back to the row's (they could not be stored)."""
        with self._db.transaction(write=False) as tx:
            row = tx.execute("SELECT result, count FROM batch_job WHERE id = :id", {"id": self.id}).one_or_none()
        row = jobrows.decode_row(row or {})
        self._result = dict(row.get("result") or {})
        self.count = row.get("count")
        self._result_dirty = self._count_dirty = False

    def pending_columns(self) -> dict[str, Any]:
        """Result and count changes not yet written (the worker writes them with the next transition)."""
        columns: dict[str, Any] = {}
        if self._result_dirty:
            columns["result"] = self._result
        if self._count_dirty:
            columns["count"] = self.count
        return columns

    def _write_progress(self, tx: Tx, n: int) -> None:
        # The sum is computed by the database; check it here, where it is known, so it cannot overflow there.
        check_int_column(self.advancement_count + n, "advancement_count")
        now = utcnow()
        columns = self.pending_columns()
        written = jobrows.write_progress(
            tx,
            self.id,
            status=self._status.value,
            worker=self._worker,
            advanced=n,
            lease_until=now + self._lease,
            columns=columns,
            now=now,
        )
        if not written:
            status = tx.execute("SELECT status FROM batch_job WHERE id = :id", {"id": self.id}).scalar()
            if status == JobStatus.CANCELED:
                raise JobCanceled(f"Batch job {self.id} was canceled")
            raise LeaseLost(f"Batch job {self.id} is no longer held by this worker (status {status})")
        self._result_dirty = self._count_dirty = False


def _nothing() -> None:
    pass
