"""``batchctl watch``: live progress of jobs, as Rich bars on a terminal or one line per change."""

from __future__ import annotations

import sys
import time
from typing import Any

from batchctl.cli.render import human, progress_text
from batchctl.client import Jobs
from batchctl.lifecycle import ACTIVE, JobStatus
from batchctl.service import check_job_id


def _poll(jobs: Jobs, job_ids: list[str], followed: set[str]) -> list[dict[str, Any]]:
    """The followed jobs now; with no ids given, every active job joins the followed set as it appears."""
    if not job_ids:
        page = jobs.list(status=sorted(ACTIVE), limit=1000, order="created_at")
        followed.update(job.id for job in page)
    else:
        followed.update(job_ids)
    return [jobs.get(job_id).to_json() for job_id in sorted(followed)]


def watch_jobs(jobs: Jobs, job_ids: list[str], *, interval: float, live: bool) -> None:
    """Follow the given jobs (or every active job) until all of them have ended."""
    for job_id in job_ids:
        check_job_id(job_id)
    if live:
        _watch_live(jobs, job_ids, interval)
    else:
        _watch_plain(jobs, job_ids, interval)


def _line(job: dict[str, Any]) -> str:
    return human(f"{job['id']} {job['type']} {job['status']} {progress_text(job.get('result'))}")


def _all_ended(jobs: list[dict[str, Any]]) -> bool:
    return all(JobStatus(job["status"]).is_terminal for job in jobs)


def _watch_plain(jobs: Jobs, job_ids: list[str], interval: float) -> None:
    seen: dict[str, str] = {}
    followed: set[str] = set()
    while True:
        shown = _poll(jobs, job_ids, followed)
        for job in shown:
            line = _line(job)
            if seen.get(job["id"]) != line:
                seen[job["id"]] = line
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
        if _all_ended(shown):
            return
        time.sleep(interval)


def _watch_live(jobs: Jobs, job_ids: list[str], interval: float) -> None:
    from rich.live import Live
    from rich.progress import BarColumn, Progress, TaskID, TextColumn

    # markup=False: the fields are data (made safe by human()), never Rich markup.
    progress = Progress(
        TextColumn("{task.fields[job_id]}", markup=False),
        TextColumn("{task.fields[type]}", markup=False),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.fields[count]}", markup=False),
        TextColumn("{task.fields[status]}", markup=False),
    )
    tasks: dict[str, TaskID] = {}
    followed: set[str] = set()
    with Live(progress, refresh_per_second=8, transient=False):
        while True:
            shown = _poll(jobs, job_ids, followed)
            for job in shown:
                result = job.get("result") or {}
                count = result.get("count")
                fields: dict[str, Any] = {
                    "job_id": human(job["id"]),
                    "type": human(job["type"]),
                    "status": human(job["status"]),
                    "count": human(count or "?"),
                }
                if job["id"] not in tasks:
                    tasks[job["id"]] = progress.add_task("", total=count or None, **fields)
                progress.update(
                    tasks[job["id"]], completed=result.get("advancement_count", 0), total=count or None, **fields
                )
            if _all_ended(shown):
                return
            time.sleep(interval)
