"""``batchctl webhooks``: add, list, remove and test webhooks, and read their delivery log."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from batchctl.cli import render
from batchctl.cli.runtime import client, creating_client
from batchctl.errors import BadInput

app = typer.Typer(help="Webhooks: a signed POST of each matching event and its job.", no_args_is_help=True)


def _names(values: list[str] | None) -> list[str]:
    """``--events a,b --events c`` → [a, b, c]."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST (http:// or https://).")],
    events: Annotated[
        list[str] | None, typer.Option("--events", help="Event names, comma-separated (default: every event).")
    ] = None,
    types: Annotated[list[str] | None, typer.Option("--type", help="Only jobs of this type (repeatable).")] = None,
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the signing secret from stdin instead of generating one.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 10.0,
    max_attempts: Annotated[int, typer.Option(help="Tries before an event is parked.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Add a webhook for events from now on; a generated secret is printed this once and never again.

    Example: batchctl webhooks add https://hooks.example.com/batch --events batch.completed,batch.failed
    """
    secret = sys.stdin.read() if secret_stdin else None
    webhook, secret = creating_client().subscriptions.add_webhook(
        url, events=_names(events), types=types or [], secret=secret, timeout=timeout, max_attempts=max_attempts
    )
    shown_secret = None if secret_stdin else secret  # the user's own secret is never echoed
    if as_json:
        render.emit_json({**webhook.to_json(), "secret": shown_secret})
        return
    print(f"added webhook {webhook.id} -> {webhook.url}")
    if shown_secret is not None:
        print(f"signing secret (shown only now): {shown_secret}")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the webhooks (their secrets are never shown).

    Example: batchctl webhooks list --json
    """
    found = client().subscriptions.list_webhooks()
    if as_json:
        render.emit_json({"webhooks": [webhook.to_json() for webhook in found]})
        return
    render.emit_table(
        ["ID", "URL", "EVENTS", "TYPES"],
        [[w.id, w.url, ",".join(w.events) or "*", ",".join(w.types) or "*"] for w in found],
    )


@app.command("remove")
def remove(webhook_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Remove a webhook with its pending deliveries and its delivery log.

    Example: batchctl webhooks remove wh_3fa9c2e1b0d4
    """
    client().subscriptions.remove_webhook(webhook_id)
    print(f"removed webhook {webhook_id}")


@app.command("test")
def test(
    webhook_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """POST a signed ``webhook.test`` event now and show the answer (exit 1 unless it is a 2xx).

    Example: batchctl webhooks test wh_3fa9c2e1b0d4
    """
    answer = client().subscriptions.test_webhook(webhook_id)
    if as_json:
        render.emit_json(
            {"ok": answer.ok, "status_code": answer.status_code, "latency_ms": answer.latency_ms, "error": answer.error}
        )
    else:
        print(
            f"{answer.status_code or 'no answer'} in {answer.latency_ms:.0f} ms"
            + (f": {answer.error}" if answer.error else "")
        )
    if not answer.ok:
        raise typer.Exit(1)


@app.command("deliveries")
def deliveries(
    webhook_id: Annotated[str, typer.Argument(metavar="ID")],
    limit: Annotated[int, typer.Option(help="How many attempts, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The webhook's delivery log: each attempt's status code, latency, outcome and next try.

    Example: batchctl webhooks deliveries wh_3fa9c2e1b0d4 --json
    """
    if limit < 1:
        raise BadInput("--limit must be >= 1")
    found = client().subscriptions.deliveries(webhook_id, limit=limit)
    if as_json:
        render.emit_json({"deliveries": found})
        return
    render.emit_table(
        ["DELIVERY", "EVENT", "ATTEMPT", "STATUS", "LATENCY", "OUTCOME", "NEXT TRY"],
        [
            [
                row["delivery"],
                row["event"],
                str(row["attempt"]),
                str(row["status_code"] or "-"),
                f"{row['latency_ms']:.0f} ms",
                row["outcome"],
                row["next_try_at"] or "",
            ]
            for row in found
        ],
    )


def register(root: typer.Typer) -> None:
    """Add ``webhooks`` to the root command."""
    root.add_typer(app, name="webhooks")
