"""Celery's tasks for the peers figure: progress is reported the Celery way, as a custom state."""

from __future__ import annotations

import os
from typing import Any

import marks
from celery import Celery

app = Celery("peers", broker=os.environ["BENCH_PEER_REDIS"], backend=os.environ["BENCH_PEER_REDIS"])
app.conf.update(
    task_default_queue=os.environ["BENCH_PEER_KEY"],
    worker_prefetch_multiplier=1,  # Celery's advice for long tasks: batch jobs are long tasks
    task_acks_late=True,  # and at-least-once, as batchctl is
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
)


@app.task(name="noop")
def noop() -> None:
    marks.done()


@app.task(name="progress", bind=True)
def progress(self: Any, reports: int) -> None:
    for report in range(1, reports + 1):
        self.update_state(state="PROGRESS", meta={"progress": report / reports})
    marks.done()


@app.task(name="stamp")
def stamp() -> None:
    marks.started()
    marks.done()
