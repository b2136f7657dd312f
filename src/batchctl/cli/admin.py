"""Operating commands: worker, workers, db, strategies, template, prune."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from batchctl import bounds, words
from batchctl.cli import render
from batchctl.cli.options import bounded
from batchctl.cli.runtime import client, creating_client
from batchctl.errors import BadInput

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


def worker(
    concurrency: Annotated[
        int, bounded(bounds.CONCURRENCY, "Jobs run at once in this process.", "--concurrency", "-n")
    ] = 1,
    burst: Annotated[bool, typer.Option("--burst", help="Exit once no job needs a worker.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each job step.")] = False,
) -> None:
    """Run Huey consumers that pre-process and process jobs (Ctrl-C, SIGTERM, SIGHUP: finish the chunk, exit 0).

    Example: batchctl worker --concurrency 4
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    from batchctl.worker import run_worker

    run_worker(creating_client().settings, concurrency=concurrency, burst=burst)


class _SafeFormatter(logging.Formatter):
    """Log lines as people may see them: a strategy's error text carries no secret and no terminal escape."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n".join(render.human(line) for line in super().format(record).splitlines())


def workers(
    show_all: Annotated[bool, typer.Option("--all", help="Also workers that stopped or went silent.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the workers that are alive (seen within two leases), and whether they reach the queue.

    Example: batchctl workers --json
    """
    found = client().workers(include_stopped=show_all)
    if as_json:
        render.emit_json({"workers": [worker.to_json() for worker in found]})
        return
    render.emit_table(
        ["ID", "CONCURRENCY", "QUEUE", "SEEN", "STATE"],
        [[w.id, str(w.concurrency), w.queue, w.seen_at or "", w.state] for w in found],
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (safe to run again).

    Example: BATCHCTL_DATABASE_URL=postgresql+psycopg://app@db/batchctl batchctl db upgrade
    """
    before, after = client().upgrade_schema()
    print(f"schema at revision {after}" + ("" if before != after else " (already up to date)"))


def strategies(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the job types this machine can run and where each strategy comes from.

    Example: batchctl strategies --json
    """
    jobs = client()
    entries = [
        {
            "type": info.batch_type,
            "identifier": info.identifier,
            "source": info.source,
            "origin": info.origin,
            "description": info.description,
        }
        for info in jobs.strategies()
    ]
    overridden = [
        {"type": info.batch_type, "identifier": info.identifier, "source": info.source, "origin": info.origin}
        for info in jobs.overridden_strategies()
    ]
    if as_json:
        render.emit_json({"strategies": entries, "overridden": overridden})
        return
    render.emit_table(
        ["TYPE", "IDENTIFIER", "SOURCE", "DESCRIPTION"],
        [[e["type"], e["identifier"], e["source"], e["description"]] for e in entries],
    )
    for entry in overridden:
        render.warn(f"{entry['type']} from {entry['source']} is overridden")


def template(
    batch_type: Annotated[str, typer.Argument(metavar="TYPE", help="The job type.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Print (or write) the file a user fills in to create a job of TYPE.

    Example: batchctl template product-import -o products.csv
    """
    text = client().template(batch_type)
    if output is None:
        sys.stdout.write(text)
        return
    _write_atomically(output, text)


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` whole or not at all (a failed write leaves the old file as it was)."""
    import contextlib
    import tempfile

    umask = os.umask(0)
    os.umask(umask)
    try:
        # mkstemp makes the file 0600: give it the old file's mode, or what a plain open() would have given it.
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~umask
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror}") from error
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise BadInput(f"cannot write {path}: {error.strerror}") from error


def prune(
    older_than: Annotated[str, typer.Option(help="Age of finished jobs to delete: 90s, 15m, 12h, 30d.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete jobs that ended longer ago than --older-than (completed, failed, canceled), with events and files.

    Example: batchctl prune --older-than 30d --dry-run
    """
    from batchctl.timeparse import parse_age

    pruned = client().prune(parse_age(older_than, option="--older-than"), dry_run=dry_run)
    if as_json:
        render.emit_json({"dry_run": dry_run, "jobs": pruned.job_ids, "files": [str(path) for path in pruned.files]})
        return
    verb = "would delete" if dry_run else "deleted"
    print(f"{verb} {words.count(len(pruned.job_ids), 'job')} and {words.count(len(pruned.files), 'file')}")


def register(app: typer.Typer) -> None:
    """Add the operating commands to ``app``."""
    app.command()(worker)
    app.command()(workers)
    app.command()(strategies)
    app.command()(template)
    app.command()(prune)
    app.add_typer(db_app, name="db")
