"""The one place errors become HTTP answers: Medusa's ``{"type", "message"}`` bodies and status codes.

The same classes the CLI turns into exit codes decide the status here: NotFound (and an unknown job type
at create, as Medusa answers) → 404 ``not_found``; InvalidTransition and NotOwner → 400 ``not_allowed``;
BadInput → 400 ``invalid_data``; anything else → 500 ``unknown_error``, whose details go to the server's
log and never into the response (no traceback, no path, no database URL).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from batchctl.errors import BadInput, BatchctlError, InvalidTransition, NotFound, Unauthorized, UnknownType

log = logging.getLogger("batchctl.http")

UNKNOWN = {"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."}


class BodyTooLarge(BadInput):
    """The request body is too large."""


class TooManyAttempts(BatchctlError):
    """Too many failed attempts; try again later."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def error_body(kind: str, message: str) -> dict[str, str]:
    """Medusa's error object."""
    return {"type": kind, "message": message}


def unauthorized() -> Response:
    """Medusa's (passport's) answer to a missing or wrong credential: 401, plain text."""
    return PlainTextResponse("Unauthorized", status_code=401)


def classify(error: BatchctlError) -> tuple[int, str]:
    """The status code and Medusa error type for one of our errors."""
    if isinstance(error, UnknownType | NotFound):
        return 404, "not_found"
    if isinstance(error, BodyTooLarge):
        return 413, "invalid_data"
    if isinstance(error, InvalidTransition):
        return 400, "not_allowed"
    if isinstance(error, BadInput):
        return 400, "invalid_data"
    return 500, "unknown_error"


class Scrubber:
    """Removes the server's own paths from messages (a strategy's error may name a file under BATCHCTL_FILES)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = sorted({p for p in paths if len(p) > 1}, key=len, reverse=True)

    def __call__(self, message: str) -> str:
        for path in self.paths:
            message = message.replace(path, "…")
        return message.splitlines()[0] if message else message


def install(app: FastAPI, scrub: Scrubber) -> None:
    """Register the exception handlers on ``app``."""

    async def batchctl_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, BatchctlError)
        if isinstance(error, Unauthorized):
            return unauthorized()
        if isinstance(error, TooManyAttempts):
            seconds = max(1, round(error.retry_after))
            return JSONResponse(
                error_body("not_allowed", scrub(str(error))), status_code=429, headers={"Retry-After": str(seconds)}
            )
        status, kind = classify(error)
        if status == 500:
            log.error("%s %s failed: %s: %s", request.method, request.url.path, type(error).__name__, error)
            return JSONResponse(UNKNOWN, status_code=500)
        return JSONResponse(error_body(kind, scrub(str(error))), status_code=status)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        kind = (
            "not_found" if error.status_code == 404 else "not_allowed" if error.status_code == 405 else "invalid_data"
        )
        detail = error.detail if isinstance(error.detail, str) else "The request was refused"
        return JSONResponse(error_body(kind, detail), status_code=error.status_code, headers=error.headers)

    async def validation_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems: list[str] = []
        for item in error.errors():
            where: Any = item.get("loc", ())
            problems.append(f"{'.'.join(str(p) for p in where[1:]) or 'body'} {item.get('msg', 'is invalid')}")
        return JSONResponse(error_body("invalid_data", ", ".join(problems) or "invalid request"), status_code=400)

    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(UNKNOWN, status_code=500)

    app.add_exception_handler(BatchctlError, batchctl_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
