"""Job commands: create, confirm, cancel, retry, show, list, events, wait, watch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from batchctl.cli import render
from batchctl.cli.runtime import runtime
from batchctl.errors import BadInput, JobEndedBadly

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (stable field names).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the job id.")]
JobId = Annotated[str, typer.Argument(metavar="ID", help="The batch job id (batch_…).")]


def parse_context(text: str | None, file: Path | None, pairs: list[str]) -> dict[str, Any]:
    """The context from ``--context``, ``--context-file`` and ``-c key=value`` (values parsed as JSON if they are)."""
    if text is not None and file is not None:
        raise BadInput("give the context with --context or --context-file, not both")
    context: Any = {}
    source = "--context"
    if file is not None:
        source = f"--context-file {file}"
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BadInput(f"cannot read --context-file {file}: {error}") from error
    if text is not None:
        try:
            context = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadInput(
                f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ) from None
        if not isinstance(context, dict):
            raise BadInput(f'{source} must be a JSON object like {{"key": "value"}}, got {type(context).__name__}')
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise BadInput(f"-c {pair!r}: expected key=value")
        try:
            context[key] = json.loads(raw)
        except json.JSONDecodeError:
            context[key] = raw
    return dict(context)


def _warn_if_work_waits(quiet: bool) -> None:
    """After create/confirm/retry: say so when no worker will pick the job up soon (not with -q)."""
    from batchctl import service

    if quiet:
        return
    warning = service.start_warning(runtime())
    if warning:
        render.warn(warning)


def _print_job(job_row: dict[str, Any], *, as_json: bool, quiet: bool) -> None:
    from batchctl.store import public_job

    job = public_job(job_row)
    if as_json:
        render.emit_json(job)
    elif quiet:
        print(job["id"])
    else:
        render.emit_lines(render.job_lines(job))


def create(
    batch_type: Annotated[str, typer.Option("--type", "-t", help="The job type (see `batchctl strategies`).")],
    context: Annotated[str | None, typer.Option("--context", help="The context as a JSON object.")] = None,
    context_file: Annotated[
        Path | None, typer.Option("--context-file", help="Read the context JSON from a file.")
    ] = None,
    pairs: Annotated[
        list[str] | None, typer.Option("--set", "-c", help="A context entry key=value (repeatable).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Stop after pre-processing until `confirm`.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Create a job; a worker pre-processes it, then runs it (after `confirm` for a dry run).

    Example: batchctl create --type publish-products --dry-run -q
    """
    from batchctl import service

    row = service.create_job(runtime(), batch_type, parse_context(context, context_file, pairs or []), dry_run=dry_run)
    _print_job(row, as_json=as_json, quiet=quiet)
    _warn_if_work_waits(quiet)


def confirm(job_id: JobId, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Confirm a pre-processed (dry-run) job so a worker processes it.

    Example: batchctl confirm batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X
    """
    from batchctl import service

    _print_job(service.confirm_job(runtime(), job_id), as_json=as_json, quiet=quiet)
    _warn_if_work_waits(quiet)


def cancel(job_id: JobId, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Cancel a job that has not finished; a running job stops at its next progress report."""
    from batchctl import service

    _print_job(service.cancel_job(runtime(), job_id), as_json=as_json, quiet=quiet)


def retry(job_id: JobId, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Put a failed job back to work; processing resumes from its last committed progress."""
    from batchctl import service

    _print_job(service.retry_job(runtime(), job_id), as_json=as_json, quiet=quiet)
    _warn_if_work_waits(quiet)


def show(job_id: JobId, as_json: JsonOption = False) -> None:
    """Show one job.

    Example: batchctl show batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X --json | jq .result.progress
    """
    from batchctl import service

    _print_job(service.get_job(runtime(), job_id), as_json=as_json, quiet=False)


def list_(
    types: Annotated[list[str] | None, typer.Option("--type", "-t", help="Only these types (repeatable).")] = None,
    statuses: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="Only these statuses (repeatable).")
    ] = None,
    created_after: Annotated[str | None, typer.Option(help="ISO-8601 time or an age like 12h.")] = None,
    created_before: Annotated[str | None, typer.Option(help="ISO-8601 time or an age like 12h.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many jobs.")] = 10,
    offset: Annotated[int, typer.Option(help="Skip this many jobs first.")] = 0,
    order: Annotated[str, typer.Option(help="Sort field, '-' for descending.")] = "-created_at",
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ids.")] = False,
) -> None:
    """List jobs, newest first.

    Example: batchctl list --status processing --json
    """
    from batchctl import service, store
    from batchctl.db import utcnow
    from batchctl.timeparse import parse_moment

    now = utcnow()
    selection = store.JobFilter(
        types=types or [],
        statuses=statuses or [],
        created_after=parse_moment(created_after, option="--created-after", now=now) if created_after else None,
        created_before=parse_moment(created_before, option="--created-before", now=now) if created_before else None,
        limit=limit,
        offset=offset,
        order=order,
    )
    rows, total = service.list_jobs(runtime(), selection)
    jobs = [store.public_job(row) for row in rows]
    if as_json:
        render.emit_json({"batch_jobs": jobs, "count": total, "limit": limit, "offset": offset})
    elif quiet:
        for job in jobs:
            print(job["id"])
    else:
        render.emit_table(["ID", "TYPE", "STATUS", "PROGRESS", "CREATED"], [render.job_row(job) for job in jobs])
        if total > offset + len(jobs):
            render.warn(f"showing {len(jobs)} of {total}; use --limit/--offset for more")


def events(
    job_id: JobId,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing events until the job ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a job's event history (JSON lines with --follow --json)."""
    from batchctl import service, store
    from batchctl.lifecycle import JobStatus

    rt = runtime()
    last_id = 0
    printed_any = False
    while True:
        rows = service.list_events(rt, job_id, last_id)
        found = [store.public_event(row) for row in rows]
        if found:
            last_id = found[-1]["id"]
        if as_json and not follow:
            render.emit_json(found)
            return
        for event in found:
            if as_json:
                render.emit_json_line(event)
            else:
                data = json.dumps(event["data"], sort_keys=True) if event["data"] else ""
                print(f"{event['created_at']}  {event['name']:<20} {data}".rstrip(), flush=True)
            printed_any = True
        if not follow:
            return
        if JobStatus(service.get_job(rt, job_id)["status"]).is_terminal and not found and printed_any:
            return
        time.sleep(0.2)


def wait(
    job_id: JobId,
    for_status: Annotated[str | None, typer.Option("--for", help="Wait for this status (default: any end).")] = None,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds (exit 124).")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Block until the job reaches STATUS or ends; exit 1 if it ended failed or canceled, 124 on timeout.

    Example: batchctl wait $ID --for pre_processed --timeout 60
    """
    from batchctl import service
    from batchctl.lifecycle import JobStatus

    if timeout is not None and timeout < 0:
        raise BadInput("--timeout must be >= 0 seconds")
    targets: set[JobStatus] = set()
    if for_status is not None:
        try:
            targets = {JobStatus(for_status)}
        except ValueError:
            raise BadInput(f"--for {for_status!r} is not a status; use one of: {', '.join(JobStatus)}") from None
    row = service.wait_for(runtime(), job_id, targets, timeout=timeout)
    status = JobStatus(row["status"])
    if not quiet:
        _print_job(row, as_json=as_json, quiet=False)
    if status in targets or status is JobStatus.COMPLETED:
        return
    if status in (JobStatus.FAILED, JobStatus.CANCELED):
        raise JobEndedBadly(f"batch job {job_id} ended {status.value}")
    raise JobEndedBadly(f"batch job {job_id} ended {status.value} before reaching {for_status}")


def watch(
    job_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Jobs to watch (default: all active).")
    ] = None,
    interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 0.25,
) -> None:
    """Show live progress of jobs until they end (bars on a terminal, a line per change otherwise)."""
    from batchctl.cli.watching import watch_jobs

    if interval <= 0:
        raise BadInput("--interval must be > 0 seconds")
    watch_jobs(runtime(), job_ids or [], interval=interval, live=render.on_terminal())


def register(app: typer.Typer) -> None:
    """Add the job commands to ``app``."""
    commands: list[tuple[str, Callable[..., None]]] = [
        ("create", create),
        ("confirm", confirm),
        ("cancel", cancel),
        ("retry", retry),
        ("show", show),
        ("list", list_),
        ("events", events),
        ("wait", wait),
        ("watch", watch),
    ]
    for name, command in commands:
        app.command(name=name)(command)
