"""The exception hierarchy: every user-facing failure is a BatchctlError with an exit code."""

from __future__ import annotations

from typing import Any


class BatchctlError(Exception):
    """Something went wrong in batchctl."""

    exit_code = 1

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class BadInput(BatchctlError):
    """The input is not valid."""

    exit_code = 2


class BadContext(BadInput):
    """The job's context is not valid (what a strategy's ``prepare`` raises)."""


class Unstorable(BadInput):
    """A value cannot be stored: it is not JSON, or beyond what both databases hold (see ``storable``)."""


class UnknownType(BadInput):
    """No strategy handles that job type."""


class Unauthorized(BatchctlError):
    """The credentials are missing, wrong or revoked."""

    exit_code = 4


class NotFound(BatchctlError):
    """The batch job was not found."""

    exit_code = 3


class InvalidTransition(BatchctlError):
    """The batch job cannot make that transition from its current status."""

    exit_code = 4

    def __init__(
        self,
        message: str | None = None,
        *,
        current: str | None = None,
        owner: str | None = None,
        job: dict[str, Any] | None = None,
    ) -> None:
        """``current``, ``owner`` and ``job``: what the move lost to (the JobStatus, owner and row it found)."""
        super().__init__(message)
        self.current = current
        self.owner = owner
        self.job = job


class NotOwner(InvalidTransition):
    """Cannot access a batch job that does not belong to the logged in user"""


class BackendUnavailable(BatchctlError):
    """A backend (database or queue) is unreachable or misconfigured."""

    exit_code = 5


class DiskFull(BackendUnavailable):
    """The disk holding the database is full (nothing of the failed transaction was written)."""


class StrategyLoadError(BadInput):
    """A strategy could not be loaded."""


class JobCanceled(BatchctlError):
    """The batch job was canceled; the current chunk is rolled back."""


class LeaseLost(BatchctlError):
    """Another worker took this batch job over; the current chunk is rolled back."""


class WaitTimeout(BatchctlError):
    """Timed out waiting for the batch job."""

    exit_code = 124


class JobEndedBadly(BatchctlError):
    """The awaited batch job ended failed or canceled."""

    exit_code = 1


class StatusUnreachable(JobEndedBadly):
    """The awaited batch job ended without reaching the status it was awaited for, and now never will.

    ``job`` is the job as it ended (a row in the service layer, a ``BatchJob`` from the client),
    ``ended`` its final status and ``awaited`` the statuses that were waited for.
    """

    def __init__(self, message: str, *, job: Any, ended: str, awaited: tuple[str, ...]) -> None:
        super().__init__(message)
        self.job = job
        self.ended = ended
        self.awaited = awaited


class SubscriberLoadError(BadInput):
    """A subscriber could not be loaded."""
