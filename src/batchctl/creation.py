"""Creating a job: the strategy's ``prepare`` checks the context, then one INSERT writes the row and ``batch.created``.

``batchctl create`` (through service) and the scheduler in the worker (through schedules) both create jobs
here, so a scheduled job is checked and written exactly as one typed at the shell.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from batchctl import files, jobrows, store, words
from batchctl.db import Row, Tx
from batchctl.errors import BadContext, BadInput, Unstorable
from batchctl.lifecycle import JobStatus
from batchctl.storable import check_json

if TYPE_CHECKING:
    from batchctl.registry import Registry


def new_job_id() -> str:
    """``batch_`` + a ULID: unique and sortable by creation time."""
    from ulid import ULID

    return f"batch_{ULID()}"


def prepare_context(registry: Registry, batch_type: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as the strategy's ``prepare`` validates and normalises it; BadContext when it refuses.

    Both the context given and the one ``prepare`` returns must be storable (``storable.check_json``):
    what the database cannot hold is refused here, before the row exists, rather than failing the INSERT.
    """
    strategy = registry.get(batch_type).create()
    try:
        check_json(dict(context), "context")
    except Unstorable as error:
        raise BadContext(f"invalid context for {batch_type}: {error}") from None
    try:
        prepared = strategy.prepare(dict(context))
    # ValueError and TypeError too: strategies written before BadContext raise those. A KeyError is a bug.
    except (BadContext, ValueError, TypeError) as error:
        raise BadContext(f"invalid context for {batch_type}: {error}") from error
    name = f"the {batch_type} strategy's {type(strategy).__name__}.prepare()"
    if not isinstance(prepared, dict):
        raise BadInput(f"{name} returned {words.a_type(prepared)}, not the job's context as a dict")
    try:
        check_json(prepared, "context")
    except Unstorable as error:
        raise BadInput(f"{name} returned a context the database cannot hold: {error}") from None
    return dict(prepared)


def stage_inputs(
    registry: Registry,
    file_store: files.FileStore,
    row: Row,
    *,
    record: Callable[[str, files.Role], None],
    forget: Callable[[str], None],
) -> files.Staged:
    """Copy the input files the strategy names (``input_files``) into the store under the new job's id, and put
    their keys into ``row``'s context; BadContext (nothing kept) for a file that cannot be taken."""
    fields = registry.get(row["type"]).strategy_class.input_files
    if not fields:
        return files.Staged(row["context"])
    try:
        staged = files.stage_inputs(
            file_store, row["id"], row["context"], fields, user=row["created_by"], record=record, forget=forget
        )
    except BadContext as error:
        raise BadContext(f"invalid context for {row['type']}: {error}") from error
    row["context"] = staged.context
    return staged


def new_job_row(
    batch_type: str,
    prepared: dict[str, Any],
    *,
    dry_run: bool,
    user: str,
    now: datetime,
    schedule: str | None = None,
    scheduled_for: datetime | None = None,
) -> Row:
    """The columns of a job about to be created (its context already prepared)."""
    return {
        "id": new_job_id(),
        "type": batch_type,
        "status": JobStatus.CREATED.value,
        "created_by": user,
        "context": prepared,
        "dry_run": dry_run,
        "advancement_count": 0,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
        "schedule": schedule,
        "scheduled_for": scheduled_for,
    }


def insert_job(tx: Tx, row: Row, now: datetime, event_data: Mapping[str, Any] | None = None) -> Row:
    """Write the job row and its ``batch.created`` event in the caller's transaction; return the row."""
    event = {"status": JobStatus.CREATED.value, **(event_data or {})}
    return store.decode_row(jobrows.insert_job(tx, row, [("batch.created", event)], now))
