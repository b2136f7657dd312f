"""Job commands: create, confirm, cancel, retry, show, list, events, wait, watch."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchctl import bounds
from batchctl.cli import render
from batchctl.cli.options import ContextFileOption, ContextOption, JobType, PairsOption, bounded
from batchctl.cli.runtime import client, creating_client
from batchctl.errors import BadInput, JobEndedBadly

if TYPE_CHECKING:
    from batchctl.client import BatchJob

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (stable field names).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the job id.")]
JobId = Annotated[str, typer.Argument(metavar="ID", help="The batch job id (batch_…).")]


MAX_CONTEXT_BYTES = 16 * 1024 * 1024  # far beyond any real context; bounds what /dev/zero or a wrong file costs


def parse_context(text: str | None, file: Path | None, pairs: list[str]) -> dict[str, Any]:
    """The context from ``--context``, ``--context-file`` and ``-c key=value`` (values parsed as JSON if they are)."""
    if text is not None and file is not None:
        raise BadInput("give the context with --context or --context-file, not both")
    context: Any = {}
    source = "--context"
    if file is not None:
        source = f"--context-file {file}"
        text = _read_context_file(file)
    if text is not None:
        try:
            context = _decode_json(text, source)
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
            context[key] = _decode_json(raw, f"-c {key}", constants_as_text=True)
        except json.JSONDecodeError:
            context[key] = raw  # not JSON: the value is the text itself
    return dict(context)


def _read_context_file(file: Path) -> str:
    """The file's text, read no further than MAX_CONTEXT_BYTES (so /dev/zero or a huge file is refused)."""
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_CONTEXT_BYTES + 1)
    except OSError as error:
        raise BadInput(f"cannot read --context-file {file}: {error.strerror or error}") from error
    if len(data) > MAX_CONTEXT_BYTES:
        limit = f"{MAX_CONTEXT_BYTES // (1024 * 1024)} MiB"
        raise BadInput(f"--context-file {file} is larger than {limit}; a context is a small JSON object")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(f"--context-file {file} is not UTF-8 text (byte {error.start})") from error


class _NotJson(Exception):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON has no such numbers."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise BadInput(f"the number {text[:40]} is out of range; give a finite number")
    return value


def _decode_json(text: str, source: str, *, constants_as_text: bool = False) -> Any:
    """``json.loads`` that refuses NaN/Infinity, out-of-range numbers and deep nesting as one-line BadInput.

    With ``constants_as_text`` (a ``-c`` value), NaN and Infinity are not JSON, so they are the text itself.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotJson as error:
        if constants_as_text:
            return text
        raise BadInput(f"{source}: {error} is not a JSON number; give a finite number or a string") from None
    except BadInput as error:
        raise BadInput(f"{source}: {error}") from None
    except RecursionError:
        raise BadInput(f"{source} is nested too deeply; a context nests at most a few levels") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # Python refuses to read an integer of more than 4,300 digits
        raise BadInput(f"{source}: a number has more than 4,300 digits; give a smaller number or a string") from None


def _warn_if_work_waits(quiet: bool) -> None:
    """After create/confirm/retry: say so when no worker will pick the job up soon (not with -q)."""
    if quiet:
        return
    warning = client().start_warning()
    if warning:
        render.warn(warning)


def _print_job(batch_job: BatchJob, *, as_json: bool, quiet: bool) -> None:
    job = batch_job.to_json()
    if as_json:
        render.emit_json(job)
    elif quiet:
        print(job["id"])
    else:
        render.emit_lines(render.job_lines(job))


def create(
    batch_type: JobType,
    context: ContextOption = None,
    context_file: ContextFileOption = None,
    pairs: PairsOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Stop after pre-processing until `confirm`.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Create a job; a worker pre-processes it, then runs it (after `confirm` for a dry run).

    Example: batchctl create --type publish-products --dry-run -q
    """
    job = creating_client().create(batch_type, parse_context(context, context_file, pairs or []), dry_run=dry_run)
    _print_job(job, as_json=as_json, quiet=quiet)
    _warn_if_work_waits(quiet)


def confirm(job_id: JobId, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Confirm a pre-processed (dry-run) job so a worker processes it.

    Example: batchctl confirm batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X
    """
    _print_job(client().confirm(job_id), as_json=as_json, quiet=quiet)
    _warn_if_work_waits(quiet)


def cancel(job_id: JobId, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Cancel a job that has not finished; a running job stops at its next progress report.

    Example: batchctl cancel batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X
    """
    _print_job(client().cancel(job_id), as_json=as_json, quiet=quiet)


def retry(job_id: JobId, as_json: JsonOption = False, quiet: QuietOption = False) -> None:
    """Put a failed job back to work; processing resumes from its last committed progress.

    Example: batchctl retry batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X && batchctl wait batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X
    """
    _print_job(client().retry(job_id), as_json=as_json, quiet=quiet)
    _warn_if_work_waits(quiet)


def show(job_id: JobId, as_json: JsonOption = False) -> None:
    """Show one job.

    Example: batchctl show batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X --json | jq .result.progress
    """
    _print_job(client().get(job_id), as_json=as_json, quiet=False)


def list_(
    types: Annotated[list[str] | None, typer.Option("--type", "-t", help="Only these types (repeatable).")] = None,
    statuses: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="Only these statuses (repeatable).")
    ] = None,
    schedule: Annotated[
        list[str] | None, typer.Option("--schedule", help="Only jobs this schedule created (repeatable).")
    ] = None,
    created_after: Annotated[str | None, typer.Option(help="ISO-8601 time or an age like 12h.")] = None,
    created_before: Annotated[str | None, typer.Option(help="ISO-8601 time or an age like 12h.")] = None,
    limit: Annotated[int, bounded(bounds.LIMIT, "At most this many jobs.")] = 10,
    offset: Annotated[int, bounded(bounds.OFFSET, "Skip this many jobs first.")] = 0,
    order: Annotated[str, typer.Option(help="Sort field, '-' for descending.")] = "-created_at",
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ids.")] = False,
) -> None:
    """List jobs, newest first.

    Example: batchctl list --status processing --json
    """
    from batchctl.timeparse import parse_moment

    page = client().list(
        type=types or [],
        status=statuses or [],
        schedule=schedule or [],
        created_after=parse_moment(created_after, option="--created-after") if created_after else None,
        created_before=parse_moment(created_before, option="--created-before") if created_before else None,
        limit=limit,
        offset=offset,
        order=order,
    )
    if as_json:
        render.emit_json(page.to_json())
    elif quiet:
        for job in page:
            print(job.id)
    else:
        rows = [render.job_row(job.to_json()) for job in page]
        render.emit_table(["ID", "TYPE", "STATUS", "PROGRESS", "CREATED"], rows)
        if page.count > offset + len(page):
            render.warn(f"showing {len(page)} of {page.count}; use --limit/--offset for more")


def events(
    job_id: JobId,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing events until the job ends.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a job's event history (JSON lines with --follow --json).

    Example: batchctl events $ID --follow
    """
    found = client().events(job_id, follow=follow)
    if as_json and not follow:
        render.emit_json([event.to_json() for event in found])
        return
    for event in found:
        if as_json:
            render.emit_json_line(event.to_json())
        else:
            shown = event.to_json()
            data = json.dumps(shown["data"], sort_keys=True) if shown["data"] else ""
            render.emit_line(f"{shown['created_at']}  {event.name:<20} {data}".rstrip())


# The statuses --for takes, in lifecycle order (tests/cli/test_newcomer.py checks it against JobStatus).
WAIT_STATUSES = "created, pre_processed, confirmed, processing, completed, failed, canceled"


def wait(
    job_id: JobId,
    for_status: Annotated[
        str | None,
        typer.Option("--for", metavar="STATUS", help=f"Wait for this status: {WAIT_STATUSES} (default: any end)."),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds (exit 124).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON (stable field names).")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the job id, and only when it got there.")
    ] = False,
) -> None:
    """Block until the job reaches STATUS (or ends); exit 1 if it ended failed/canceled or can no longer reach STATUS.

    Prints one line, `batch_… completed` (the id and the status it stopped at); `show` prints the whole job.

    Example: batchctl wait $ID --for pre_processed --timeout 60
    """
    from batchctl.errors import StatusUnreachable
    from batchctl.lifecycle import JobStatus
    from batchctl.service import check_timeout, parse_status

    check_timeout(timeout, option="--timeout")
    target = parse_status(for_status, option="--for") if for_status is not None else None
    try:
        job = client().wait(job_id, for_status=target, timeout=timeout)
    except StatusUnreachable as ended:  # printed like any job that ended, then exit 1 with the reason
        _print_waited(ended.job, as_json=as_json, quiet=quiet, reached=False)
        raise
    reached = target is not None or job.status is JobStatus.COMPLETED
    _print_waited(job, as_json=as_json, quiet=quiet, reached=reached)
    if not reached:
        raise JobEndedBadly(f"batch job {job_id} ended {job.status.value}")


def _print_waited(batch_job: BatchJob, *, as_json: bool, quiet: bool, reached: bool) -> None:
    """What ``wait`` prints: the job as JSON, its id (-q, when it got there) or one line: id and status."""
    if as_json:
        render.emit_json(batch_job.to_json())
    elif quiet:
        if reached:
            print(batch_job.id)
    else:
        render.emit_line(f"{batch_job.id} {batch_job.status.value}")


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
    watch_jobs(client(), job_ids or [], interval=interval, live=render.on_terminal())


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
