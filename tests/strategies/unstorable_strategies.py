"""Strategies that hand back what the database cannot store (loaded through BATCHCTL_STRATEGIES).

``test-unstorable``: context ``{"kind": K, "phase": P}`` puts the unstorable value ``K`` of ``VALUES``
into the job's result (or count) in phase ``P``: ``pre`` (written with the pre_processed transition),
``advance`` (written by a ``job.advance``) or ``end`` (written with the completion). ``test-bad-prepare``:
a ``prepare`` that returns ``PREPARED[context["returns"]]``.
"""

from __future__ import annotations

from typing import Any

from batchctl import BatchJobStrategy, Job


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


class _Opaque:
    pass


# kind -> what the strategy writes: ("count", n), ("advance", n) or ("result", {field: value}).
VALUES: dict[str, tuple[str, Any]] = {
    "huge-count": ("count", 2**70),
    "int-column": ("count", 2**31),
    "huge-advance": ("advance", 2**40),
    "huge-int": ("result", {"total": 2**70}),
    "nan-progress": ("result", {"stage": {"progress": float("nan")}}),
    "infinity": ("result", {"rate": float("inf")}),
    "set": ("result", {"seen": {1, 2}}),
    "bytes": ("result", {"raw": b"\x00\x01"}),
    "object": ("result", {"thing": _Opaque()}),
    "nul": ("result", {"names": ["ok", "a\x00b"]}),
    "surrogate": ("result", {"name": "caf\ud800"}),
    "int-key": ("result", {"by_id": {1: "one"}}),
    "deep": ("result", {"tree": _deep(100)}),
}
# What the error names for each kind (the path of the value, or the column).
WHERE = {
    "huge-count": "count",
    "int-column": "count",
    "huge-advance": "advancement_count",
    "huge-int": "result.total",
    "nan-progress": "result.stage.progress",
    "infinity": "result.rate",
    "set": "result.seen",
    "bytes": "result.raw",
    "object": "result.thing",
    "nul": "result.names[1]",
    "surrogate": "result.name",
    "int-key": "result.by_id",
    "deep": "result.tree",
}


def _write(job: Job, kind: str) -> None:
    what, value = VALUES[kind]
    if what == "count":
        job.set_count(value)
    elif what == "result":
        job.set_result(**value)


class Unstorable(BatchJobStrategy):
    """Puts an unstorable value into its result in the phase its context names."""

    batch_type = "test-unstorable"

    def pre_process(self, job: Job) -> None:
        if job.context["phase"] == "pre":
            _write(job, job.context["kind"])
        else:
            job.set_count(3)

    def process(self, job: Job) -> None:
        kind, phase = job.context["kind"], job.context["phase"]
        what, value = VALUES[kind]
        if phase == "advance":
            if what == "advance":
                job.advance(value)
            _write(job, kind)
            job.advance(1)
        job.advance(1)
        if phase == "end":
            _write(job, kind)


class BadError(BatchJobStrategy):
    """Fails with a message holding a NUL, and a handle_error that leaves an unstorable result."""

    batch_type = "test-bad-error"

    def process(self, job: Job) -> None:
        raise ValueError("broken\x00message")

    def handle_error(self, job: Job, error: Exception) -> None:
        job.set_result(failure={"when": float("nan")})


PREPARED: dict[str, Any] = {
    "none": None,
    "list": ["not", "a", "dict"],
    "nan": {"x": float("nan")},
    "set": {"x": {1, 2}},
    "huge-int": {"x": 2**70},
}


class BadPrepare(BatchJobStrategy):
    """A prepare that returns what its context asks for."""

    batch_type = "test-bad-prepare"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        returned: dict[str, Any] = PREPARED[context["returns"]]
        return returned


class RefusedStatement(BatchJobStrategy):
    """Runs one statement the database refuses with an OperationalError while the server is fine.

    On PostgreSQL: 70,000 parameters, beyond the protocol's 65,535 (libpq refuses to send it). On SQLite
    (whose build may allow that many): a table that does not exist.
    """

    batch_type = "test-refused-statement"

    def process(self, job: Job) -> None:
        with job.transaction() as tx:
            if tx.dialect == "postgresql":
                values = {f"p{i}": i for i in range(70_000)}
                tx.execute(f"SELECT 1 WHERE 1 IN ({', '.join(f':{name}' for name in values)})", values)
            else:
                tx.execute("SELECT * FROM no_such_table")
            job.advance(1)


class RefusedCompletion(BatchJobStrategy):
    """Installs a trigger that refuses to mark any job completed, so the worker's own last write is refused."""

    batch_type = "test-refused-completion"

    def process(self, job: Job) -> None:
        with job.transaction() as tx:
            if tx.dialect == "postgresql":
                tx.execute(
                    "CREATE FUNCTION refuse_completion() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.status = 'completed' THEN RAISE EXCEPTION 'completion refused by a trigger'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
                tx.execute(
                    "CREATE TRIGGER refuse_completion BEFORE UPDATE ON batch_job "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_completion()"
                )
            else:
                tx.execute(
                    "CREATE TRIGGER refuse_completion BEFORE UPDATE ON batch_job WHEN NEW.status = 'completed' "
                    "BEGIN SELECT RAISE(ABORT, 'completion refused by a trigger'); END"
                )
            job.advance(1)
