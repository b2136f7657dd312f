"""Operating commands: worker, workers, db, strategies, template, prune."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from batchctl.cli import render
from batchctl.cli.runtime import client, creating_client
from batchctl.errors import BadInput

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


def worker(
    concurrency: Annotated[int, typer.Option("--concurrency", "-n", help="Jobs run at once in this process.")] = 1,
    burst: Annotated[bool, typer.Option("--burst", help="Exit once no job needs a worker.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each job step.")] = False,
) -> None:
    """Run Huey consumers that pre-process and process jobs (SIGTERM: finish the chunk, hand back, exit 0).

    Example: batchctl worker --concurrency 4
    """
    if concurrency < 1:
        raise BadInput("--concurrency must be >= 1")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from batchctl.worker import run_worker

    run_worker(creating_client().settings, concurrency=concurrency, burst=burst)


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
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot write {output}: {error.strerror}") from error


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
    print(f"{verb} {len(pruned.job_ids)} jobs and {len(pruned.files)} files")


def register(app: typer.Typer) -> None:
    """Add the operating commands to ``app``."""
    app.command()(worker)
    app.command()(workers)
    app.command()(strategies)
    app.command()(template)
    app.command()(prune)
    app.add_typer(db_app, name="db")
