"""Operating commands: worker, db, strategies, template, products."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from batchctl.cli import render
from batchctl.cli.runtime import runtime
from batchctl.errors import BadInput

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
products_app = typer.Typer(help="The demo product catalog that the product strategies work on.", no_args_is_help=True)


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

    run_worker(runtime().settings, concurrency=concurrency, burst=burst)


def workers(
    show_all: Annotated[bool, typer.Option("--all", help="Also workers that stopped or went silent.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the workers that are alive (seen within two leases), and whether they reach the queue."""
    from datetime import timedelta

    from batchctl import presence
    from batchctl.db import utcnow
    from batchctl.store import iso

    rt = runtime()
    stale_after = timedelta(days=36500) if show_all else timedelta(seconds=2 * rt.settings.lease_seconds)
    with rt.db.transaction(write=False) as tx:
        rows = presence.live_workers(tx, now=utcnow(), stale_after=stale_after, include_stopped=show_all)
    found = [
        {
            "id": row["id"],
            "host": row["host"],
            "pid": row["pid"],
            "concurrency": row["concurrency"],
            "queue": row["queue"],
            "queue_error": row["queue_error"],
            "started_at": iso(row["started_at"]),
            "seen_at": iso(row["seen_at"]),
            "stopped_at": iso(row["stopped_at"]),
        }
        for row in rows
    ]
    if as_json:
        render.emit_json({"workers": found})
        return
    render.emit_table(
        ["ID", "CONCURRENCY", "QUEUE", "SEEN", "STATE"],
        [
            [
                w["id"],
                str(w["concurrency"]),
                w["queue"],
                w["seen_at"] or "",
                "stopped" if w["stopped_at"] else (f"queue down: {w['queue_error']}" if w["queue_error"] else "ok"),
            ]
            for w in found
        ],
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (safe to run again)."""
    from batchctl.db import Database
    from batchctl.schema import HEAD_REVISION, current_revision, upgrade

    database = Database(runtime().settings.database_url)
    before = current_revision(database)
    upgrade(database)
    print(f"schema at revision {HEAD_REVISION}" + ("" if before != HEAD_REVISION else " (already up to date)"))


def strategies(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the job types this machine can run and where each strategy comes from."""
    registry = runtime().registry()
    entries = [
        {
            "type": info.batch_type,
            "identifier": info.identifier,
            "source": info.source,
            "origin": info.origin,
            "description": info.description,
        }
        for info in sorted(registry.by_type.values(), key=lambda info: info.batch_type)
    ]
    overridden = [
        {"type": info.batch_type, "identifier": info.identifier, "source": info.source, "origin": info.origin}
        for info in registry.overridden
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
    """Print (or write) the file a user fills in to create a job of TYPE."""
    text = runtime().registry().get(batch_type).create().build_template()
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
    from batchctl.db import utcnow
    from batchctl.prune import prune_finished
    from batchctl.timeparse import parse_age

    age = parse_age(older_than, option="--older-than")
    rt = runtime()
    pruned = prune_finished(rt.db, finished_before=utcnow() - age, files_dir=rt.settings.files_dir, dry_run=dry_run)
    if as_json:
        render.emit_json({"dry_run": dry_run, "jobs": pruned.job_ids, "files": [str(path) for path in pruned.files]})
        return
    verb = "would delete" if dry_run else "deleted"
    print(f"{verb} {len(pruned.job_ids)} jobs and {len(pruned.files)} files")


@products_app.command("seed")
def products_seed(
    count: Annotated[int, typer.Option(help="How many draft products to add.")] = 100,
    variants: Annotated[int, typer.Option(help="Variants per product.")] = 2,
) -> None:
    """Add draft products (with variants) to the demo catalog."""
    from batchctl.catalog.products import seed_products

    with runtime().db.transaction() as tx:
        added = seed_products(tx, count, variants=variants)
    print(f"added {added} draft products")


@products_app.command("count")
def products_count(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Count the catalog's products per status."""
    from batchctl.catalog.products import count_products

    with runtime().db.transaction(write=False) as tx:
        counts = count_products(tx, status)
    if as_json:
        render.emit_json(counts)
    elif status is not None:
        print(counts[status])
    else:
        render.emit_table(["STATUS", "PRODUCTS"], [[name, str(n)] for name, n in counts.items()])


def register(app: typer.Typer) -> None:
    """Add the operating commands to ``app``."""
    app.command()(worker)
    app.command()(workers)
    app.command()(strategies)
    app.command()(template)
    app.command()(prune)
    app.add_typer(db_app, name="db")
    app.add_typer(products_app, name="products")
