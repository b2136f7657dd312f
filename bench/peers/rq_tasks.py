"""RQ's tasks for the peers figure: progress is reported the RQ way, in the job's meta."""

from __future__ import annotations

import marks
from rq import get_current_job


def noop() -> None:
    marks.done()


def progress(reports: int) -> None:
    job = get_current_job()
    assert job is not None
    for report in range(1, reports + 1):
        job.meta["progress"] = report / reports
        job.save_meta()
    marks.done()


def stamp() -> None:
    marks.started()
    marks.done()
