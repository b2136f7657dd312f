"""SQLModel tables: the schema that Alembic migrates and the SQL in ``store``/``lifecycle`` reads.

The hot paths (CLI reads, transitions, worker claims) use plain SQL over DB-API so that a
``batchctl show`` does not pay for importing SQLAlchemy and Pydantic; these models are the one
place the schema is declared, and ``tests/integration/test_migrations.py`` keeps the migrations
in step with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# The demo catalog's tables live with the catalog; imported here so that this module declares the whole schema.
from batchctl.catalog import models as catalog_models  # noqa: F401

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(Timestamp, nullable=nullable, index=index))


class BatchJob(SQLModel, table=True):
    """One batch job: its input, its status (with one timestamp per status) and its result."""

    __tablename__ = "batch_job"

    id: str = Field(primary_key=True, max_length=40)
    type: str = Field(index=True, max_length=100)
    status: str = Field(index=True, max_length=20)
    created_by: str = Field(max_length=200)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    dry_run: bool = False
    count: int | None = None
    advancement_count: int = 0
    result: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONType, nullable=True))
    attempts: int = 0
    worker: str | None = Field(default=None, max_length=200)
    lease_until: datetime | None = _ts()
    heartbeat_at: datetime | None = _ts()
    woken_at: datetime | None = _ts()
    not_before: datetime | None = _ts()
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False, index=True))
    updated_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    pre_processed_at: datetime | None = _ts()
    confirmed_at: datetime | None = _ts()
    processing_at: datetime | None = _ts()
    completed_at: datetime | None = _ts()
    failed_at: datetime | None = _ts()
    canceled_at: datetime | None = _ts()
    # The schedule and tick that created the job (null for a job created by hand).
    schedule: str | None = Field(default=None, max_length=100, index=True)
    scheduled_for: datetime | None = _ts()


class BatchJobEvent(SQLModel, table=True):
    """One lifecycle event of a job, kept so ``batchctl events ID`` can show its history."""

    __tablename__ = "batch_job_event"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("batch_job.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(max_length=50)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))


class BatchWorker(SQLModel, table=True):
    """A worker process, kept fresh by its heartbeat so the CLI knows whether work will start."""

    __tablename__ = "batch_worker"

    id: str = Field(primary_key=True, max_length=200)
    host: str = Field(max_length=255)
    pid: int
    concurrency: int
    queue: str = Field(max_length=500)
    queue_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    started_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    seen_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False, index=True))
    stopped_at: datetime | None = _ts()


class BatchSchedule(SQLModel, table=True):
    """A timetable (cron or fixed interval) on which workers create jobs of one type with one context."""

    __tablename__ = "batch_schedule"

    name: str = Field(primary_key=True, max_length=100)
    type: str = Field(max_length=100)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(JSONType, nullable=False))
    dry_run: bool = False
    cron: str | None = Field(default=None, max_length=200)
    every_seconds: int | None = None
    tz: str = Field(max_length=100)
    catch_up: str = Field(max_length=10)
    no_overlap: bool = False
    status: str = Field(max_length=20)
    created_by: str = Field(max_length=200)
    # The earliest tick not handled yet; a worker that handles it moves it on with one conditional UPDATE.
    next_tick_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False, index=True))
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class BatchScheduleTick(SQLModel, table=True):
    """What became of one tick of a schedule; unique per (schedule, tick_at), so no tick makes two jobs."""

    __tablename__ = "batch_schedule_tick"
    __table_args__ = (sa.UniqueConstraint("schedule", "tick_at", name="uq_batch_schedule_tick_schedule_tick_at"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule: str = Field(
        sa_column=sa.Column(sa.String(100), sa.ForeignKey("batch_schedule.name", ondelete="CASCADE"), nullable=False)
    )
    tick_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    outcome: str = Field(max_length=20)
    job_id: str | None = Field(default=None, max_length=40)
    # How many ticks this row stands for: a catch-up job or a run of missed ticks covers several.
    ticks: int = 1
    first_tick_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    detail: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


# -- users and the Admin HTTP API (``batchctl users``, ``batchctl serve``) ------------------------------------


class BatchUser(SQLModel, table=True):
    """A user of the Admin API; ``id`` is the name jobs carry in ``created_by`` (as ``BATCHCTL_USER`` does)."""

    __tablename__ = "batch_user"

    id: str = Field(primary_key=True, max_length=200)
    email: str | None = Field(default=None, unique=True, max_length=320)
    # Only hashes: scrypt for the password, SHA-256 for the random API token (high-entropy, so no KDF needed).
    password_hash: str | None = Field(default=None, max_length=300)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    # A random value signed into every session (JWT or cookie): a user removed and added again is a new user.
    nonce: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class BatchIdempotencyKey(SQLModel, table=True):
    """An ``Idempotency-Key`` a user sent with a create, and the job it created (written with the job)."""

    __tablename__ = "batch_idempotency_key"

    user_id: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    job_id: str = Field(max_length=40)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class BatchSecret(SQLModel, table=True):
    """A server secret generated once and kept in the database (the JWT and cookie signing key)."""

    __tablename__ = "batch_secret"

    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


# -- subscribers (issue 14): durable cursors over batch_job_event, one delivery row per (subscriber, event) ------


class BatchSubscriber(SQLModel, table=True):
    """A Python subscriber (recorded by the first worker that loads it) or a webhook, with its cursor.

    ``cursor`` is the id of the last event whose deliveries for this subscriber have been written to
    ``batch_delivery``: every later matching event will be.
    """

    __tablename__ = "batch_subscriber"

    name: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=20)  # python | webhook
    source: str = Field(max_length=500)  # "built-in", "package NAME", "folder PATH", "webhooks add"
    origin: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))  # the file or module, or the URL
    events: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    types: list[str] = Field(default_factory=list, sa_column=sa.Column(JSONType, nullable=False))
    cursor: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    max_attempts: int
    timeout_seconds: float | None = None
    secret: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    seen_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class BatchDelivery(SQLModel, table=True):
    """One event to deliver to one subscriber: its state, its attempts, and its lease while in flight."""

    __tablename__ = "batch_delivery"
    __table_args__ = (
        sa.UniqueConstraint("subscriber", "event_id", name="uq_batch_delivery_subscriber_event"),
        # The claim's "nothing earlier of this job is undelivered" and one-in-flight-per-job checks, and its
        # scan of a subscriber's pending deliveries in event order.
        sa.Index("ix_batch_delivery_subscriber_job_event", "subscriber", "job_id", "event_id"),
        sa.Index("ix_batch_delivery_subscriber_status_event", "subscriber", "status", "event_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscriber: str = Field(
        sa_column=sa.Column(sa.String(200), sa.ForeignKey("batch_subscriber.name", ondelete="CASCADE"), nullable=False)
    )
    event_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("batch_job_event.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    job_id: str = Field(max_length=40, index=True)
    status: str = Field(max_length=20)  # pending | delivering | done | parked
    attempts: int = 0
    next_try_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    lease_until: datetime | None = _ts()
    worker: str | None = Field(default=None, max_length=200)
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    status_code: int | None = None
    latency_ms: float | None = None
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    done_at: datetime | None = _ts()


class BatchDeliveryAttempt(SQLModel, table=True):
    """One attempt of a delivery (the webhook delivery log): when, the answer, how long, the next try."""

    __tablename__ = "batch_delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("batch_delivery.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    attempt: int
    started_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    status_code: int | None = None
    latency_ms: float
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    outcome: str = Field(max_length=20)  # done | retry | parked
    next_try_at: datetime | None = _ts()


# -- the job file store (files.py) ---------------------------------------------------------------------------------


class BatchJobFile(SQLModel, table=True):
    """A file a job was handed or writes, under BATCHCTL_FILES by its store key; ``prune`` removes it with the job.

    Written BEFORE the file is created, so a crash in between leaves a record and never an unknown file. No
    foreign key to ``batch_job``: an input's record is written before its job row exists (``create`` copies
    the file first), and a record whose job never came is removed by ``prune`` after a grace period.
    """

    __tablename__ = "batch_job_file"

    job_id: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=700)
    role: str = Field(max_length=20)  # input | output | scratch (see files.Role)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False, index=True))
    # The key's index: prune keeps a file another job still holds (one upload handed to two imports).
    __table_args__ = (sa.Index("ix_batch_job_file_key", "key"),)
