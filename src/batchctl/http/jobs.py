"""Medusa v1's ``/admin/batch-jobs`` routes, plus our ``retry`` and an ``events`` stream (server-sent events).

Each route authenticates the caller, makes one call on the client acting as that user, and answers with
Medusa's shapes. The caller owns what it creates and sees only its own jobs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from batchctl.client import BatchJob, Event, Jobs
from batchctl.errors import BadInput, NotFound, NotOwner
from batchctl.http import schemas
from batchctl.http.auth import current_user
from batchctl.http.body import parse_create
from batchctl.http.medusa import adapt_context, show_keys
from batchctl.http.query import parse_list_query, project
from batchctl.uploads import Uploads
from batchctl.users import User

router = APIRouter(tags=["batch-jobs"])
_JOB = {200: schemas.json_response("BatchJobResponse"), **schemas.ERRORS}
_ID = r"^batch_[0-9A-HJKMNP-TV-Z]{26}$"
CALLER = Depends(current_user)


def jobs_for(request: Request, user: User) -> Jobs:
    """The client acting as ``user``."""
    jobs: Jobs = request.app.state.jobs
    return jobs.as_user(user.id)


def job_json(job: BatchJob, uploads: Uploads) -> dict[str, Any]:
    """A job as Medusa's API shows it: our JSON, file paths as keys, and Medusa's ``deleted_at`` (always null)."""
    answer = show_keys(job.to_json(), uploads)
    answer["deleted_at"] = None
    return answer


def _one(jobs: Jobs, job: BatchJob, status: int = 200) -> Response:
    return JSONResponse({"batch_job": job_json(job, jobs.uploads())}, status_code=status)


def owned(jobs: Jobs, job_id: str) -> BatchJob:
    """The caller's job ``job_id``: NotFound for an unknown id, NotOwner for someone else's."""
    import re

    if not re.match(_ID, job_id):
        raise NotFound(f"Batch job with id {job_id} was not found")  # as Medusa: any unknown id is a 404
    job = jobs.get(job_id)
    if job.created_by != jobs.user:
        raise NotOwner()
    return job


@router.post(
    "/admin/batch-jobs",
    status_code=201,
    summary="Create a batch job",
    openapi_extra=schemas.CREATE_BODY,
    responses={201: schemas.json_response("BatchJobResponse", "Created"), **schemas.ERRORS},
)
async def create(request: Request, user: User = CALLER) -> Response:
    """Create a job (a dry run stops at pre_processed until confirmed); an ``Idempotency-Key`` makes it repeatable."""
    from starlette.concurrency import run_in_threadpool

    body = parse_create(await request.body())
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= 200:
        raise BadInput("Idempotency-Key must be 1 to 200 characters")
    jobs = jobs_for(request, user)

    def create_job() -> BatchJob:
        context = adapt_context(body.type, body.context, jobs.uploads(), user.id)
        return jobs.create(body.type, context, dry_run=body.dry_run, idempotency_key=key)

    return _one(jobs, await run_in_threadpool(create_job), 201)


@router.get(
    "/admin/batch-jobs",
    summary="List the caller's batch jobs",
    openapi_extra={"parameters": schemas.LIST_PARAMETERS},
    responses={200: schemas.json_response("BatchJobList"), **schemas.ERRORS},
)
def list_jobs(request: Request, user: User = CALLER) -> Response:
    """A page of the caller's jobs, filtered and ordered as Medusa's list query says."""
    query = parse_list_query(request.url.query, max_limit=request.app.state.config.max_page_size)
    jobs = jobs_for(request, user)
    uploads = jobs.uploads()
    page = jobs.list(
        type=query.types or None,
        ids=query.ids or None,
        times=query.times,
        created_by=user.id,
        limit=query.limit,
        offset=query.offset,
        order=query.order,
    )
    expand_user = user.to_json() if "created_by_user" in query.expand else None
    listed = []
    for job in page:
        answer = job_json(job, uploads)
        if expand_user is not None:
            answer["created_by_user"] = expand_user
        listed.append(project(answer, query.fields, query.expand))
    return JSONResponse({"batch_jobs": listed, "count": page.count, "offset": page.offset, "limit": page.limit})


@router.get("/admin/batch-jobs/{job_id}", summary="Retrieve a batch job", responses=_JOB)
def retrieve(request: Request, job_id: str, user: User = CALLER) -> Response:
    """One of the caller's jobs."""
    jobs = jobs_for(request, user)
    return _one(jobs, owned(jobs, job_id))


@router.post("/admin/batch-jobs/{job_id}/confirm", summary="Confirm a pre-processed batch job", responses=_JOB)
def confirm(request: Request, job_id: str, user: User = CALLER) -> Response:
    """pre_processed → confirmed (the body is ignored)."""
    jobs = jobs_for(request, user)
    owned(jobs, job_id)
    return _one(jobs, jobs.confirm(job_id))


@router.post("/admin/batch-jobs/{job_id}/cancel", summary="Cancel a batch job", responses=_JOB)
def cancel(request: Request, job_id: str, user: User = CALLER) -> Response:
    """Cancel an unfinished job; cancelling a canceled job answers 200 again (the body is ignored)."""
    jobs = jobs_for(request, user)
    owned(jobs, job_id)
    return _one(jobs, jobs.cancel(job_id))


@router.post(
    "/admin/batch-jobs/{job_id}/retry",
    summary="Retry a failed batch job (batchctl extension)",
    responses=_JOB,
)
def retry(request: Request, job_id: str, user: User = CALLER) -> Response:
    """Put a failed job back to work; it resumes from its last committed progress."""
    jobs = jobs_for(request, user)
    owned(jobs, job_id)
    return _one(jobs, jobs.retry(job_id))


@router.get(
    "/admin/batch-jobs/{job_id}/events",
    summary="Stream a batch job's events (batchctl extension, server-sent events)",
    responses={
        200: {
            "description": "`text/event-stream`: one `event: batch.…` per lifecycle event (data: the event JSON), "
            "then `event: end` once the job has ended. `Last-Event-ID` resumes after that event.",
            "content": {"text/event-stream": {"schema": {}}},
        },
        **schemas.ERRORS,
    },
)
def events(request: Request, job_id: str, user: User = CALLER) -> Response:
    """The job's events, as they happen, until it ends."""
    jobs = jobs_for(request, user)
    owned(jobs, job_id)
    after = _last_event_id(request.headers.get("last-event-id", "0"))
    stopping: threading.Event = request.app.state.stopping
    return StreamingResponse(
        _stream(jobs, job_id, after, stopping),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _last_event_id(header: str) -> int:
    """The event id to resume after: 0 for a header that is not one; 400 for one no event id can reach.

    Checked here, before the stream starts: an int beyond 64 bits is an OverflowError in sqlite3.
    """
    if not header.isascii() or not header.isdigit():
        return 0
    if len(header) > 18:
        raise BadInput(f"Last-Event-ID must be an event id of at most 18 digits, got {len(header)} digits")
    return int(header)


def _sse(event: Event) -> str:
    return f"id: {event.id}\nevent: {event.name}\ndata: {json.dumps(event.to_json(), separators=(',', ':'))}\n\n"


def _stream(jobs: Jobs, job_id: str, after: int, stopping: threading.Event) -> Iterator[str]:
    # Polled here rather than with jobs.events(follow=True), so that a server shutting down ends the stream.
    yield ": batchctl events\n\n"
    while True:
        new = list(jobs.events(job_id, after=after))
        for event in new:
            yield _sse(event)
            after = event.id
        if not new and jobs.get(job_id).is_finished:
            # One more look: the last events may have been written just before the final status.
            yield from (_sse(event) for event in jobs.events(job_id, after=after))
            yield "event: end\ndata: {}\n\n"
            return
        if stopping.wait(0.25):
            yield "event: shutdown\ndata: {}\n\n"
            return
