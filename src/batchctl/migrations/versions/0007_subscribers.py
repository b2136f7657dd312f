"""subscribers: durable cursors over the event log, deliveries, and the webhook delivery log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "batch_subscriber",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("types", JSON, nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Float(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "batch_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_try_at", TS, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("done_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["subscriber"], ["batch_subscriber.name"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["batch_job_event.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscriber", "event_id", name="uq_batch_delivery_subscriber_event"),
    )
    op.create_index("ix_batch_delivery_event_id", "batch_delivery", ["event_id"])
    op.create_index("ix_batch_delivery_job_id", "batch_delivery", ["job_id"])
    op.create_index("ix_batch_delivery_subscriber_job_event", "batch_delivery", ["subscriber", "job_id", "event_id"])
    op.create_index("ix_batch_delivery_subscriber_status_event", "batch_delivery", ["subscriber", "status", "event_id"])
    op.create_table(
        "batch_delivery_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("next_try_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["batch_delivery.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batch_delivery_attempt_delivery_id", "batch_delivery_attempt", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("batch_delivery_attempt")
    op.drop_table("batch_delivery")
    op.drop_table("batch_subscriber")
