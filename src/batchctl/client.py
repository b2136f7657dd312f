"""The public Python API: ``batchctl.connect()`` → ``Jobs``, the seeds' ``BatchJobService``.

    import batchctl

    jobs = batchctl.connect()                  # settings from BATCHCTL_*; keyword arguments override them
    job = jobs.create("publish-products", dry_run=True)
    job = jobs.wait(job.id, for_status="pre_processed", timeout=60)
    jobs.confirm(job.id)

Everything the CLI and the HTTP server do goes through here: each command parses its input, makes one call,
and renders what comes back. Jobs come back as immutable ``BatchJob`` objects whose ``to_json()`` is exactly
what ``batchctl show --json`` prints. Errors are the ``BatchctlError`` family (``NotFound``,
``InvalidTransition``, ``BadInput``, ``BackendUnavailable``, ``WaitTimeout``).

Importing this module is cheap (no Huey, Redis, SQLAlchemy or Rich); a ``Jobs`` may be shared between
threads (each thread gets its own database connection).
"""

from __future__ import annotations

import builtins
import copy
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from batchctl import service
from batchctl.config import Settings
from batchctl.db import Row, to_datetime
from batchctl.errors import StatusUnreachable
from batchctl.events import Event, freeze
from batchctl.lifecycle import JobStatus
from batchctl.runtime import Runtime
from batchctl.store import TimeCondition

if TYPE_CHECKING:
    from batchctl.operations import Pruned, WorkerInfo
    from batchctl.registry import StrategyInfo
    from batchctl.schedule_service import Schedules
    from batchctl.subscribers.manage import Subscriptions
    from batchctl.uploads import Uploads

__all__ = ["BatchJob", "Event", "JobPage", "Jobs", "TimeCondition", "connect"]


@dataclass(frozen=True)
class BatchJob:
    """One batch job as the API returns it (docs/lifecycle.md, The job); ``to_json()`` is what ``show --json`` shows."""

    id: str
    type: str
    status: JobStatus
    created_by: str
    context: Mapping[str, Any]
    dry_run: bool
    result: Mapping[str, Any] | None
    created_at: datetime
    updated_at: datetime
    pre_processed_at: datetime | None
    confirmed_at: datetime | None
    processing_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    canceled_at: datetime | None
    attempts: int
    worker: str | None
    _json: Mapping[str, Any] = field(repr=False, compare=False)
    schedule: str | None = None  # the schedule that created the job, and the tick it was for
    scheduled_for: datetime | None = None

    @classmethod
    def from_json(cls, job: Mapping[str, Any]) -> BatchJob:
        """A BatchJob from its JSON object (as ``show --json`` prints it)."""

        def moment(name: str) -> datetime | None:
            return to_datetime(job[name].replace("Z", "+00:00")) if job.get(name) else None

        created_at, updated_at = moment("created_at"), moment("updated_at")
        assert created_at is not None and updated_at is not None  # every stored job has both
        return cls(
            id=job["id"],
            type=job["type"],
            status=JobStatus(job["status"]),
            created_by=job["created_by"],
            context=freeze(job["context"]),
            dry_run=bool(job["dry_run"]),
            result=freeze(job["result"]),
            created_at=created_at,
            updated_at=updated_at,
            pre_processed_at=moment("pre_processed_at"),
            confirmed_at=moment("confirmed_at"),
            processing_at=moment("processing_at"),
            completed_at=moment("completed_at"),
            failed_at=moment("failed_at"),
            canceled_at=moment("canceled_at"),
            attempts=int(job.get("attempts") or 0),
            worker=job.get("worker"),
            _json=copy.deepcopy(dict(job)),
            schedule=job.get("schedule"),
            scheduled_for=moment("scheduled_for"),
        )

    @classmethod
    def from_row(cls, row: Row) -> BatchJob:
        """A BatchJob from a decoded ``batch_job`` row."""
        from batchctl.store import public_job

        return cls.from_json(public_job(row))

    @property
    def progress(self) -> float:
        """``result.progress``: 0 before pre-processing, 1 when completed."""
        return float((self.result or {}).get("progress") or 0.0)

    @property
    def is_finished(self) -> bool:
        """Whether the job ended (completed, failed or canceled)."""
        return self.status.is_terminal

    def has_reached(self, status: str | JobStatus) -> bool:
        """Whether the job is in ``status`` or went through it on its way (that status's timestamp is set)."""
        return service.has_reached(self._json, JobStatus(status))

    def to_json(self) -> dict[str, Any]:
        """The job as a fresh JSON-ready dict, exactly as ``batchctl show --json`` prints it."""
        return copy.deepcopy(dict(self._json))


@dataclass(frozen=True)
class JobPage:
    """One page of ``Jobs.list``: the jobs, how many match in all, and the page's window."""

    batch_jobs: tuple[BatchJob, ...]
    count: int
    limit: int
    offset: int

    def __iter__(self) -> Iterator[BatchJob]:
        return iter(self.batch_jobs)

    def __len__(self) -> int:
        return len(self.batch_jobs)

    def to_json(self) -> dict[str, Any]:
        """``{"batch_jobs": [...], "count": N, "limit": L, "offset": O}``, as ``list --json`` prints it."""
        return {
            "batch_jobs": [job.to_json() for job in self.batch_jobs],
            "count": self.count,
            "limit": self.limit,
            "offset": self.offset,
        }


def _strings(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _statuses(value: str | JobStatus | Iterable[str | JobStatus] | None) -> set[JobStatus]:
    names = [value] if isinstance(value, str) else list(value or [])
    return {service.parse_status(str(name), option="for_status") for name in names}


class Jobs:
    """Batch jobs for one user: create, get, list, wait, confirm, cancel, retry, events (the seeds' BatchJobService)."""

    def __init__(self, runtime: Runtime, *, user: str | None = None) -> None:
        self.runtime = runtime
        self.user: str = user if user is not None else runtime.settings.user

    @property
    def settings(self) -> Settings:
        """The settings this client was made with."""
        return self.runtime.settings

    def as_user(self, user: str) -> Jobs:
        """The same connection, acting as ``user`` (whose jobs it may confirm, cancel and retry)."""
        return Jobs(self.runtime, user=user)

    # -- the lifecycle ----------------------------------------------------------------------------------

    def create(
        self,
        type: str,
        context: Mapping[str, Any] | None = None,
        *,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> BatchJob:
        """Create a job; the strategy's ``prepare`` checks the context first (BadInput: nothing is written).

        With ``idempotency_key``, repeating the create (same user, same key) returns the first job instead.
        """
        row = service.create_job(
            self.runtime, type, dict(context or {}), dry_run=dry_run, user=self.user, idempotency_key=idempotency_key
        )
        return BatchJob.from_row(row)

    def get(self, job_id: str) -> BatchJob:
        """One job (NotFound for an unknown id)."""
        return BatchJob.from_row(service.get_job(self.runtime, job_id))

    def confirm(self, job_id: str) -> BatchJob:
        """Confirm a pre-processed dry run so a worker processes it (only its creator may)."""
        return BatchJob.from_row(service.confirm_job(self.runtime, job_id, user=self.user))

    def cancel(self, job_id: str) -> BatchJob:
        """Cancel an unfinished job; a running one stops at its next progress report. A canceled job stays so."""
        return BatchJob.from_row(service.cancel_job(self.runtime, job_id, user=self.user))

    def retry(self, job_id: str) -> BatchJob:
        """Put a failed job back to work with a fresh set of attempts; it resumes from its checkpoint."""
        return BatchJob.from_row(service.retry_job(self.runtime, job_id, user=self.user))

    # -- reading ---------------------------------------------------------------------------------------------

    def list(
        self,
        *,
        type: str | Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        schedule: str | Iterable[str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        created_by: str | None = None,
        ids: Iterable[str] | None = None,
        times: Sequence[TimeCondition] = (),
        limit: int = 10,
        offset: int = 0,
        order: str = "-created_at",
    ) -> JobPage:
        """A page of jobs matching every filter given, ordered by ``order`` (``-`` for descending).

        ``times``: conditions on timestamp columns, e.g. ``TimeCondition("completed_at", "is_null")``.
        """
        from batchctl.store import JobFilter

        selection = JobFilter(
            types=_strings(type),
            statuses=_strings(status),
            schedules=_strings(schedule),
            created_after=created_after,
            created_before=created_before,
            created_by=created_by,
            ids=_strings(ids),
            times=tuple(times),
            limit=limit,
            offset=offset,
            order=order,
        )
        rows, total = service.list_jobs(self.runtime, selection)
        return JobPage(tuple(BatchJob.from_row(row) for row in rows), total, limit, offset)

    def wait(
        self,
        job_id: str,
        *,
        for_status: str | JobStatus | Sequence[str | JobStatus] | None = None,
        timeout: float | None = None,
        poll: float = 0.1,
        on_change: Callable[[BatchJob], None] | None = None,
    ) -> BatchJob:
        """Block until the job has reached ``for_status`` (or one of several; default: until it ends).

        Returns the job then (also when it went through the status between two polls). A job that ends
        without reaching it raises ``StatusUnreachable`` (its ``job`` is the job as it ended); a timeout
        that is not a finite number >= 0 is ``BadInput``; ``WaitTimeout`` after ``timeout`` seconds;
        ``on_change`` sees each new state.
        """
        callback = None if on_change is None else (lambda row: on_change(BatchJob.from_row(row)))
        try:
            row = service.wait_for(
                self.runtime, job_id, _statuses(for_status), timeout=timeout, poll=poll, on_change=callback
            )
        except StatusUnreachable as ended:
            ended.job = BatchJob.from_row(ended.job)
            raise
        return BatchJob.from_row(row)

    def events(self, job_id: str, *, after: int = 0, follow: bool = False, poll: float = 0.2) -> Iterator[Event]:
        """The job's events in order; with ``follow``, keep yielding new ones until the job has ended."""
        return (Event.from_row(row) for row in service.follow_events(self.runtime, job_id, after, follow, poll))

    def schedules(self) -> Schedules:
        """The schedules: timetables on which the workers create jobs (add, list, pause, resume, remove, run)."""
        from batchctl.schedule_service import Schedules

        return Schedules(self.runtime, user=self.user)

    # -- strategies and operations ----------------------------------------------------------------------

    def uploads(self) -> Uploads:
        """The uploaded files and exports the Admin API hands out by key (under BATCHCTL_FILES)."""
        from batchctl.uploads import Uploads

        return Uploads(self.settings.files_dir)  # absolute already (config.files_root)

    def strategies(self) -> builtins.list[StrategyInfo]:
        """The job types this machine can run, sorted by type."""
        return sorted(self.runtime.registry().by_type.values(), key=lambda info: info.batch_type)

    def overridden_strategies(self) -> builtins.list[StrategyInfo]:
        """Strategies replaced by a later source of the same type."""
        return builtins.list(self.runtime.registry().overridden)

    def template(self, type: str) -> str:
        """The file a user fills in to create a job of ``type``; BadInput when its strategy has none."""
        from batchctl.errors import BadInput

        text = self.runtime.registry().get(type).create().build_template()
        if not text:
            raise BadInput(f"the {type} strategy has no template; only types that read a file have one")
        return text

    def start_warning(self) -> str | None:
        """Why work just created or confirmed will wait (no live worker, or none reaching the queue), or None."""
        return service.start_warning(self.runtime)

    def workers(self, *, include_stopped: bool = False) -> builtins.list[WorkerInfo]:
        """The workers seen within two leases (with ``include_stopped``, every worker ever recorded)."""
        from batchctl import operations

        return operations.list_workers(self.runtime, include_stopped=include_stopped)

    def prune(self, older_than: timedelta, *, dry_run: bool = False) -> Pruned:
        """Delete jobs that ended longer than ``older_than`` ago, with their events and files."""
        from batchctl import operations

        return operations.prune(self.runtime, older_than=older_than, dry_run=dry_run)

    @property
    def subscriptions(self) -> Subscriptions:
        """The subscribers and webhooks: add, list, remove and test webhooks, inspect and replay deliveries."""
        from batchctl.subscribers.manage import Subscriptions

        return Subscriptions(self.runtime)

    def upgrade_schema(self) -> tuple[str | None, str]:
        """Apply the schema migrations; the revision before and after."""
        from batchctl import operations

        return operations.upgrade_schema(self.runtime.settings)

    # -- the connection --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close this thread's database connection (a later call opens a new one)."""
        self.runtime.close()

    def __enter__(self) -> Jobs:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


_SETTING_NAMES = {f.name for f in dataclasses.fields(Settings)}


def connect(
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    user: str | None = None,
    files_dir: str | Path | None = None,
    strategy_paths: Sequence[str | Path] | None = None,
    create_database: bool = True,
    **settings: Any,
) -> Jobs:
    """A client for the batch jobs in the configured database.

    Settings come from the ``BATCHCTL_*`` environment (as for the CLI); keyword arguments override them:
    ``database_url``, ``redis_url``, ``user``, ``files_dir``, ``strategy_paths`` (replacing the folders to
    load strategies from) and any other ``Settings`` field such as ``lease_seconds``.

    The database is identified (read-only) at the first call that needs it: one that is not batchctl's
    (another program's SQLite file, a newer schema, not a database) is refused with ``BackendUnavailable``
    and left untouched. Where there is none yet, the first call makes an embedded SQLite one (and its
    folder), as a new user expects; ``create_database=False`` refuses instead (what the CLI's reading
    commands do, so that a mistyped path is an error rather than an empty list).
    """
    unknown = sorted(set(settings) - _SETTING_NAMES)
    if unknown:
        from batchctl.errors import BadInput

        raise BadInput(
            f"connect() got unknown setting {unknown[0]!r}; expected one of: {', '.join(sorted(_SETTING_NAMES))}"
        )
    overrides: dict[str, Any] = dict(settings)
    from batchctl.masking import remember_url

    remember_url(database_url)  # what fails later must not print these passwords either
    remember_url(redis_url)
    if database_url is not None:
        from batchctl.db import parse_url

        parse_url(database_url)  # refuse an unsupported URL now, not at the first call
        overrides["database_url"] = database_url
    if redis_url is not None:
        overrides["redis_url"] = redis_url
    if user is not None:
        overrides["user"] = user
    if strategy_paths is not None:
        overrides["strategy_paths"] = tuple(Path(path) for path in strategy_paths)
    from_env = Settings.from_env()
    if files_dir is not None:
        from batchctl.config import files_root

        overrides["files_dir"] = files_root(files_dir, from_env.data_dir)
    resolved = dataclasses.replace(from_env, **overrides)
    return Jobs(Runtime(resolved, create_database=create_database))
