"""procrastinate's tasks for the peers figure. It keeps a job's status, but has no progress to report."""

from __future__ import annotations

import os

import marks
import procrastinate

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ["BENCH_PEER_POSTGRES"]))
QUEUE = os.environ["BENCH_PEER_KEY"]


@app.task(name="noop", queue=QUEUE)
def noop() -> None:
    marks.done()


@app.task(name="progress", queue=QUEUE)
def progress(reports: int) -> None:
    marks.done()  # nowhere to report progress to: it runs as a no-op


@app.task(name="stamp", queue=QUEUE)
def stamp() -> None:
    marks.started()
    marks.done()
