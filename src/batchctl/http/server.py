"""Running the app under uvicorn: SIGTERM stops new requests, lets in-flight ones finish, then exits 0."""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any

import uvicorn

from batchctl.client import Jobs
from batchctl.http.app import create_app

GRACE_SECONDS = 10


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app when a shutdown starts (event streams then end)."""

    def __init__(self, config: uvicorn.Config, stopping: Any) -> None:
        super().__init__(config)
        self._stopping = stopping

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._stopping.set()
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            # uvicorn re-raises the signals it caught once it has shut down, so the process would die of
            # SIGTERM; a drained, orderly stop is a success (exit 0), as for `batchctl worker`.
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list) and sig in captured:
                captured.remove(sig)


def run_server(client: Jobs, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve the Admin API on ``host:port`` until SIGTERM or SIGINT."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    app = create_app(client)
    client.runtime.db  # noqa: B018  (check and migrate the schema before the first request, not during it)
    client.runtime.registry()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        proxy_headers=False,  # the client address (throttling) is the peer's, not a header anyone can send
        server_header=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        timeout_keep_alive=5,
        limit_concurrency=1000,
    )
    _Server(config, app.state.stopping).run()
