"""``batchctl serve``: the Admin HTTP API (Medusa v1's batch-job routes) under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl import bounds
from batchctl.cli.options import bounded
from batchctl.cli.runtime import creating_client


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.", envvar="BATCHCTL_HOST")] = "127.0.0.1",
    port: Annotated[int, bounded(bounds.PORT, "Port to listen on.", "--port", envvar="BATCHCTL_PORT")] = 9000,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the Admin HTTP API (Medusa v1's /admin/batch-jobs routes); SIGTERM drains requests, then exits 0.

    Example: batchctl serve --port 9000
    Then: curl -H "x-medusa-access-token: $TOKEN" localhost:9000/admin/batch-jobs
    """
    # The server stack is imported here only: every other command starts without it.
    from batchctl.http.server import run_server

    run_server(creating_client(), host=host, port=port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command()(serve)
