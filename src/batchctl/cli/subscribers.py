"""``batchctl subscribers``: every subscriber and webhook with its lag, failures and parked events; replay."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl import words
from batchctl.cli import render
from batchctl.cli.runtime import client

app = typer.Typer(help="Subscribers and webhooks: where each stands in the event log.")


@app.callback(invoke_without_command=True)
def overview(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every subscriber and webhook: where it came from, its cursor lag, failures and parked events.

    Example: batchctl subscribers --json
    """
    if ctx.invoked_subcommand is not None:
        return
    found = client().subscriptions.status()
    if as_json:
        render.emit_json({"subscribers": [entry.to_json() for entry in found]})
        return
    render.emit_table(
        ["NAME", "KIND", "SOURCE", "LAG", "PENDING", "FAILING", "PARKED", "DONE"],
        [
            [s.name, s.kind, s.source, str(s.lag), str(s.pending), str(s.failing), str(s.parked), str(s.done)]
            for s in found
        ],
    )


@app.command("replay")
def replay(
    name: Annotated[str, typer.Argument(help="The subscriber's name or the webhook's id.")],
    since: Annotated[str, typer.Option(help="ISO-8601 time or an age like 12h: events recorded since then.")],
    parked: Annotated[bool, typer.Option("--parked", help="Only the events parked for it.")] = False,
) -> None:
    """Deliver the subscriber's events since --since again (done and parked ones; pending ones are on their way).

    Example: batchctl subscribers replay notify.tell_the_team --since 2h --parked
    """
    from batchctl.timeparse import parse_moment

    count = client().subscriptions.replay(name, since=parse_moment(since, option="--since"), parked_only=parked)
    render.emit_line(f"{words.count(count, 'delivery', 'deliveries')} to {name} queued again")


def register(root: typer.Typer) -> None:
    """Add ``subscribers`` to the root command."""
    root.add_typer(app, name="subscribers")
