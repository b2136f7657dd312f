"""schedules: timetables on which workers create jobs, one job per (schedule, tick)

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("batch_job") as batch:
        batch.add_column(sa.Column("schedule", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("scheduled_for", TS, nullable=True))
    op.create_index("ix_batch_job_schedule", "batch_job", ["schedule"])

    op.create_table(
        "batch_schedule",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("every_seconds", sa.Integer(), nullable=True),
        sa.Column("tz", sa.String(length=100), nullable=False),
        sa.Column("catch_up", sa.String(length=10), nullable=False),
        sa.Column("no_overlap", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("next_tick_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_batch_schedule_next_tick_at", "batch_schedule", ["next_tick_at"])

    op.create_table(
        "batch_schedule_tick",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("tick_at", TS, nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=True),
        sa.Column("ticks", sa.Integer(), nullable=False),
        sa.Column("first_tick_at", TS, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["schedule"], ["batch_schedule.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule", "tick_at", name="uq_batch_schedule_tick_schedule_tick_at"),
    )


def downgrade() -> None:
    op.drop_table("batch_schedule_tick")
    op.drop_table("batch_schedule")
    op.drop_index("ix_batch_job_schedule", table_name="batch_job")
    with op.batch_alter_table("batch_job") as batch:
        batch.drop_column("scheduled_for")
        batch.drop_column("schedule")
