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


class Product(SQLModel, table=True):
    """A catalog product, the demo data that the product strategies work on."""

    __tablename__ = "product"
    __table_args__ = (sa.Index("ix_product_status_id", "status", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    handle: str = Field(unique=True, max_length=200)
    title: str = Field(max_length=500)
    status: str = Field(default="draft", max_length=20)
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))


class ProductVariant(SQLModel, table=True):
    """A sellable variant of a product."""

    __tablename__ = "product_variant"

    id: str = Field(primary_key=True, max_length=40)
    product_id: str = Field(
        sa_column=sa.Column(sa.String(40), sa.ForeignKey("product.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(max_length=500)
    sku: str | None = Field(default=None, unique=True, max_length=200)
    inventory_quantity: int = 0
    created_at: datetime = Field(sa_column=sa.Column(Timestamp, nullable=False))
