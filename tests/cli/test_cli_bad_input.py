"""Bad input, table-driven: the documented exit code, one `error: …` line on stderr, no traceback, no change.

Every case runs as a real process (`python -m batchctl`), because the contract is about what a shell sees:
the exit status and stderr being exactly one line (a stray warning or traceback would break a script).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Backend

# A well-formed id (batch_ + 26 Crockford base32 characters) that no job has.
UNKNOWN_ID = "batch_01ARZ3NDEKTSV4RRFFQ69G5FAV"

Setup = Callable[[Backend], dict[str, str]]


def _created(backend: Backend) -> dict[str, str]:
    made = backend.cli("create", "--type", "noop", "-q")
    assert made.code == 0, made.stderr
    return {"id": made.stdout.strip()}


def _ended(backend: Backend, batch_type: str, status: str) -> dict[str, str]:
    job_id = backend.cli("create", "--type", batch_type, "-q").stdout.strip()
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    shown = backend.cli("show", job_id, "--json")
    assert shown.json()["status"] == status, shown.stdout
    return {"id": job_id}


def _completed(backend: Backend) -> dict[str, str]:
    return _ended(backend, "noop", "completed")


def _failed(backend: Backend) -> dict[str, str]:
    return _ended(backend, "test-fail", "failed")


def _scheduled(backend: Backend) -> dict[str, str]:
    added = backend.cli("schedule", "add", "nightly", "--type", "noop", "--cron", "0 3 * * *")
    assert added.code == 0, added.stderr
    return {}


def _context_files(backend: Backend) -> dict[str, str]:
    """Context files no parser should choke on: 100,000 levels deep, a 5,000-digit number, not UTF-8."""
    (backend.tmp / "deep.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    (backend.tmp / "digits.json").write_text('{"count": ' + "9" * 5000 + "}", encoding="utf-8")
    (backend.tmp / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    return {}


def _strategy_file(source: str) -> Setup:
    """A setup that writes a broken strategy file and names it as the only strategies folder."""

    def setup(backend: Backend) -> dict[str, str]:
        folder = backend.tmp / "broken-strategies"
        folder.mkdir(exist_ok=True)
        (folder / "broken.py").write_text(source, encoding="utf-8")
        return {"broken": str(folder)}

    return setup


def _foreign_database(backend: Backend) -> dict[str, str]:
    """Another program's SQLite file: batchctl must refuse it and leave it byte for byte."""
    import sqlite3

    path = backend.tmp / "app.db"
    with contextlib.closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        raw.commit()
    return {"garbage": str(path)}


def _garbage_database(backend: Backend) -> dict[str, str]:
    path = backend.tmp / "garbage.db"
    path.write_bytes(b"this is not a database\x00\xff" * 200)
    return {"garbage": str(path)}


@dataclass(frozen=True)
class Case:
    """argv (with {id}, {tmp}, {garbage} filled in from the setup), and what must come out."""

    argv: tuple[str, ...]
    code: int
    message: str
    setup: Setup | None = None
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # -- the context ------------------------------------------------------------------------------------------
    "context-malformed-json": Case(
        ("create", "--type", "noop", "--context", '{"count": 3'), 2, "--context is not valid JSON"
    ),
    "context-json-list": Case(("create", "--type", "noop", "--context", "[1, 2]"), 2, "must be a JSON object"),
    "context-and-context-file": Case(
        ("create", "--type", "noop", "--context", "{}", "--context-file", "{tmp}/c.json"),
        2,
        "not both",
    ),
    "context-file-missing": Case(
        ("create", "--type", "noop", "--context-file", "{tmp}/missing.json"), 2, "cannot read --context-file"
    ),
    "context-file-directory": Case(
        ("create", "--type", "noop", "--context-file", "{tmp}"), 2, "cannot read --context-file"
    ),
    "context-nan": Case(("create", "--type", "noop", "--context", '{"count": NaN}'), 2, "NaN is not a JSON number"),
    "context-infinity": Case(
        ("create", "--type", "noop", "--context", '{"count": -Infinity}'), 2, "-Infinity is not a JSON number"
    ),
    "context-number-out-of-range": Case(
        ("create", "--type", "noop", "--context", '{"count": 1e999}'), 2, "1e999 is out of range"
    ),
    "context-nested-100000-deep": Case(
        ("create", "--type", "noop", "--context-file", "{tmp}/deep.json"), 2, "nested too deeply", _context_files
    ),
    "context-5000-digit-number": Case(
        ("create", "--type", "noop", "--context-file", "{tmp}/digits.json"), 2, "more than 4,300 digits", _context_files
    ),
    "context-file-not-utf8": Case(
        ("create", "--type", "noop", "--context-file", "{tmp}/latin1.json"), 2, "is not UTF-8 text", _context_files
    ),
    "context-file-endless": Case(
        ("create", "--type", "noop", "--context-file", "/dev/zero"), 2, "--context-file /dev/zero is larger than 16 MiB"
    ),
    "set-number-out-of-range": Case(("create", "--type", "noop", "-c", "count=-1e999"), 2, "-c count: the number"),
    "set-nested-too-deep": Case(
        ("create", "--type", "noop", "-c", "count=" + "[" * 30_000 + "]" * 30_000), 2, "-c count is nested too deeply"
    ),
    "set-without-equals": Case(("create", "--type", "noop", "-c", "count"), 2, "expected key=value"),
    "set-without-key": Case(("create", "--type", "noop", "-c", "=3"), 2, "expected key=value"),
    "unknown-type": Case(
        ("create", "--type", "no-such-type"), 2, "Unable to find a BatchJob strategy with the type no-such-type"
    ),
    "unknown-type-lists-known": Case(("create", "--type", "no-such-type"), 2, "noop"),
    "bad-context-for-picky": Case(
        ("create", "--type", "test-picky", "--context", '{"name": 3}'),
        2,
        "'name' is required and must be a string",
    ),
    "bad-context-for-noop": Case(("create", "--type", "noop", "-c", "count=-1"), 2, "invalid context for noop"),
    # -- usage ------------------------------------------------------------------------------------------------
    "unknown-option": Case(("list", "--frobnicate"), 2, "--frobnicate"),
    "missing-type": Case(("create",), 2, "--type"),
    "unknown-command": Case(("frobnicate",), 2, "frobnicate"),
    "list-limit-not-a-number": Case(("list", "--limit", "ten"), 2, "Invalid value for '--limit'"),
    # -- ids --------------------------------------------------------------------------------------------------
    "show-short-id": Case(("show", "123"), 2, "invalid batch job id '123'"),
    "confirm-short-id": Case(("confirm", "batch_x"), 2, "invalid batch job id 'batch_x'"),
    "cancel-short-id": Case(("cancel", "123"), 2, "invalid batch job id"),
    "wait-short-id": Case(("wait", "batch_x", "--timeout", "1"), 2, "invalid batch job id"),
    "retry-short-id": Case(("retry", "batch_x"), 2, "invalid batch job id"),
    "events-short-id": Case(("events", "123"), 2, "invalid batch job id"),
    "show-unknown-id": Case(("show", UNKNOWN_ID), 3, f"Batch job with id {UNKNOWN_ID} was not found"),
    "confirm-unknown-id": Case(("confirm", UNKNOWN_ID), 3, f"Batch job with id {UNKNOWN_ID} was not found"),
    "cancel-unknown-id": Case(("cancel", UNKNOWN_ID), 3, f"Batch job with id {UNKNOWN_ID} was not found"),
    "retry-unknown-id": Case(("retry", UNKNOWN_ID), 3, f"Batch job with id {UNKNOWN_ID} was not found"),
    "wait-unknown-id": Case(("wait", UNKNOWN_ID, "--timeout", "1"), 3, f"Batch job with id {UNKNOWN_ID} was not found"),
    "events-unknown-id": Case(("events", UNKNOWN_ID), 3, f"Batch job with id {UNKNOWN_ID} was not found"),
    # -- list -------------------------------------------------------------------------------------------------
    "list-negative-limit": Case(("list", "--limit", "-1"), 2, "--limit"),
    "list-negative-offset": Case(("list", "--offset", "-5"), 2, "--offset"),
    "list-bogus-status": Case(("list", "--status", "bogus"), 2, "unknown status 'bogus'"),
    "list-bogus-order": Case(("list", "--order", "bogus"), 2, "cannot order by 'bogus'"),
    "list-order-injection": Case(("list", "--order", "created_at; DROP TABLE batch_job"), 2, "cannot order by"),
    "list-bad-created-after": Case(("list", "--created-after", "yesterdayish"), 2, "--created-after"),
    "list-bad-created-before": Case(("list", "--created-before", "12 parsecs"), 2, "--created-before"),
    "prune-age-beyond-100-years": Case(
        ("prune", "--older-than", "739953d", "--dry-run"), 2, "'739953d' is too long an age; use at most 36500d"
    ),
    # -- wait, worker, watch, products, template --------------------------------------------------------------
    "wait-bogus-for": Case(("wait", "{id}", "--for", "bogus"), 2, "--for 'bogus' is not a status", _created),
    "wait-negative-timeout": Case(("wait", "{id}", "--timeout", "-1"), 2, "--timeout", _created),
    "worker-zero-concurrency": Case(("worker", "--concurrency", "0", "--burst"), 2, "--concurrency"),
    "watch-zero-interval": Case(("watch", "{id}", "--interval", "0"), 2, "--interval", _created),
    "products-seed-negative": Case(("products", "seed", "--count", "-1"), 2, "--count"),
    "products-count-bogus-status": Case(("products", "count", "--status", "bogus"), 2, "unknown product status"),
    "template-unknown-type": Case(("template", "no-such-type"), 2, "Unable to find a BatchJob strategy"),
    "template-unwritable-output": Case(
        ("template", "product-import", "-o", "{tmp}/no/such/dir/t.csv"), 2, "cannot write"
    ),
    "template-output-is-a-directory": Case(("template", "product-import", "-o", "{tmp}"), 2, "Is a directory"),
    "template-of-a-type-without-one": Case(("template", "noop"), 2, "the noop strategy has no template"),
    # -- schedules --------------------------------------------------------------------------------------------
    "schedule-bad-cron": Case(
        ("schedule", "add", "s", "--type", "noop", "--cron", "61 * * * *"),
        2,
        '--cron "61 * * * *" is not a valid cron expression: Bad minute; expected 5 fields',
    ),
    "schedule-cron-four-fields": Case(
        ("schedule", "add", "s", "--type", "noop", "--cron", "0 3 * *"), 2, "is not a valid cron expression"
    ),
    "schedule-cron-never-fires": Case(
        ("schedule", "add", "s", "--type", "noop", "--cron", "* * */20 * 1L"), 2, "never fires"
    ),
    "schedule-unknown-tz": Case(
        ("schedule", "add", "s", "--type", "noop", "--cron", "0 3 * * *", "--tz", "Mars/Olympus"),
        2,
        "--tz 'Mars/Olympus' is not a known time zone; expected an IANA name like Europe/Paris",
    ),
    "schedule-refused-context": Case(
        ("schedule", "add", "s", "--type", "test-picky", "--every", "1h", "-c", "name=3"),
        2,
        "invalid context for test-picky: 'name' is required and must be a string",
    ),
    "schedule-unknown-type": Case(
        ("schedule", "add", "s", "--type", "no-such-type", "--every", "1h"), 2, "Unable to find a BatchJob strategy"
    ),
    "schedule-duplicate-name": Case(
        ("schedule", "add", "nightly", "--type", "noop", "--every", "1h"),
        2,
        "a schedule named nightly already exists",
        _scheduled,
    ),
    "schedule-cron-and-every": Case(
        ("schedule", "add", "s", "--type", "noop", "--cron", "0 3 * * *", "--every", "1h"), 2, "not both"
    ),
    "schedule-neither-cron-nor-every": Case(("schedule", "add", "s", "--type", "noop"), 2, "needs --cron"),
    "schedule-bad-every": Case(("schedule", "add", "s", "--type", "noop", "--every", "soon"), 2, "--every"),
    "schedule-tz-with-every": Case(
        ("schedule", "add", "s", "--type", "noop", "--every", "1h", "--tz", "Europe/Paris"), 2, "--tz applies to --cron"
    ),
    "schedule-bad-catch-up": Case(
        ("schedule", "add", "s", "--type", "noop", "--every", "1h", "--catch-up", "some"),
        2,
        "--catch-up 'some' is not a policy; expected one of: none, one, all",
    ),
    "schedule-bad-name": Case(
        ("schedule", "add", "no spaces", "--type", "noop", "--every", "1h"), 2, "schedule name 'no spaces' is not valid"
    ),
    "schedule-pause-unknown": Case(("schedule", "pause", "nope"), 3, "Schedule nope was not found"),
    "schedule-run-unknown": Case(("schedule", "run", "nope"), 3, "Schedule nope was not found"),
    "schedule-remove-unknown": Case(("schedule", "remove", "nope"), 3, "Schedule nope was not found"),
    # -- configuration ----------------------------------------------------------------------------------------
    "poll-interval-not-a-number": Case(("list",), 2, "BATCHCTL_POLL_INTERVAL", env={"BATCHCTL_POLL_INTERVAL": "abc"}),
    "database-url-mysql": Case(("list",), 2, "BATCHCTL_DATABASE_URL", env={"BATCHCTL_DATABASE_URL": "mysql://x"}),
    "database-not-a-database": Case(
        ("list",),
        5,
        "garbage.db",
        _garbage_database,
        # The URL overrides the backend's own, so the case holds (and runs) on both backends.
        env={"BATCHCTL_DATABASE_URL": "sqlite:///{garbage}"},
    ),
    "database-unreachable-password-masked": Case(
        ("list",),
        5,
        "postgresql+psycopg://batch:***@127.0.0.1:1/nowhere",
        env={"BATCHCTL_DATABASE_URL": "postgresql+psycopg://batch:s3cr3t-pw@127.0.0.1:1/nowhere"},
    ),
    # -- the cases of the hardening issue ----------------------------------------------------------------------
    "context-with-nul": Case(
        ("create", "--type", "noop", "--context", '{"a": "x\\u0000y"}'), 2, "cannot store context.a"
    ),
    "context-with-lone-surrogate": Case(
        ("create", "--type", "noop", "--context", '{"a": "\\ud800"}'), 2, "cannot store context.a"
    ),
    "prepare-returns-none": Case(
        ("create", "--type", "test-bad-prepare", "-c", "returns=none"), 2, "BadPrepare.prepare()"
    ),
    "list-limit-beyond-64-bits": Case(("list", "--limit", "9223372036854775808"), 2, "--limit"),
    "wait-timeout-nan": Case(("wait", "{id}", "--timeout", "nan"), 2, "--timeout", _created),
    "show-id-with-trailing-newline": Case(("show", "{id}\n"), 2, "invalid batch job id", _created),
    "lease-seconds-nan": Case(
        ("create", "--type", "noop"), 2, "BATCHCTL_LEASE_SECONDS", env={"BATCHCTL_LEASE_SECONDS": "nan"}
    ),
    "strategy-file-calls-sys-exit": Case(
        ("create", "--type", "noop"),
        2,
        "broken.py",
        _strategy_file("import sys\nsys.exit(3)\n"),
        env={"BATCHCTL_STRATEGIES": "{broken}"},
    ),
    "strategy-batch-type-not-a-string": Case(
        ("strategies",),
        2,
        "broken.py",
        _strategy_file("from batchctl import BatchJobStrategy\n\nclass Five(BatchJobStrategy):\n    batch_type = 5\n"),
        env={"BATCHCTL_STRATEGIES": "{broken}"},
    ),
    "database-of-another-program": Case(
        ("list",),
        5,
        "is not a batchctl database",
        _foreign_database,
        env={"BATCHCTL_DATABASE_URL": "sqlite:///{garbage}"},
    ),
    "database-missing-on-a-read": Case(
        ("show", UNKNOWN_ID),
        5,
        "no batchctl database at",
        env={"BATCHCTL_DATABASE_URL": "sqlite:///{tmp}/typo/jobs.db"},
    ),
    # -- refused transitions ----------------------------------------------------------------------------------
    "confirm-created-job": Case(
        ("confirm", "{id}"), 4, "Cannot confirm processing for a batch job that is not pre processed", _created
    ),
    "cancel-completed-job": Case(("cancel", "{id}"), 4, "Cannot cancel completed batch job", _completed),
    "cancel-failed-job": Case(("cancel", "{id}"), 4, "Cannot cancel failed batch job", _failed),
    "confirm-completed-job": Case(
        ("confirm", "{id}"), 4, "Cannot confirm processing for a batch job that is not pre processed", _completed
    ),
}


COUNTED = ("batch_job", "batch_job_event", "product", "batch_schedule", "batch_schedule_tick")


def _row_counts(backend: Backend) -> tuple[int, ...]:
    """Jobs, events, products and schedules: what a refused command must leave as it was."""
    database = backend.database()
    try:
        with database.transaction(write=False) as tx:
            return tuple(int(tx.execute(f"SELECT COUNT(*) FROM {table}").scalar()) for table in COUNTED)
    finally:
        database.discard_connection()


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(backend: Backend, case: Case) -> None:
    # Make sure the schema exists (the embedded database creates itself on first use), so counts can be read.
    assert backend.cli("list", "-q").code == 0
    values = {"tmp": str(backend.tmp)}
    if case.setup is not None:
        values.update(case.setup(backend))
    (backend.tmp / "c.json").write_text("{}", encoding="utf-8")
    argv = [_fill(arg, values) for arg in case.argv]
    env = {key: _fill(value, values) for key, value in case.env.items()}
    before = _row_counts(backend)
    garbage_before = Path(values["garbage"]).read_bytes() if "garbage" in values else None

    done = backend.run(*argv, env=env, timeout=60)

    assert done.code == case.code, (done.code, done.stderr)
    assert done.stderr.startswith("error: "), done.stderr
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert case.message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout == ""
    assert _row_counts(backend) == before
    if garbage_before is not None:
        # Nothing "repaired" (or overwrote) a file that is not ours.
        assert Path(values["garbage"]).read_bytes() == garbage_before


def test_no_secret_in_an_unreachable_database_message(backend: Backend) -> None:
    done = backend.run("list", env={"BATCHCTL_DATABASE_URL": "postgresql+psycopg://batch:s3cr3t-pw@127.0.0.1:1/x"})
    assert done.code == 5
    assert "s3cr3t-pw" not in done.stderr + done.stdout


def test_a_refused_template_leaves_the_output_file_as_it_was(backend: Backend) -> None:
    output = backend.tmp / "mine.csv"
    output.write_text("my own notes\n", encoding="utf-8")
    output.chmod(0o640)
    refused = backend.run("template", "noop", "-o", str(output))
    assert refused.code == 2 and "has no template" in refused.stderr, refused.stderr
    assert output.read_text(encoding="utf-8") == "my own notes\n"

    written = backend.run("template", "product-import", "-o", str(output))
    assert written.code == 0, written.stderr
    assert output.read_bytes().startswith(b"Product Id;Product Handle")
    assert output.stat().st_mode & 0o777 == 0o640  # replaced whole, keeping the file's mode
    assert sorted(path.name for path in backend.tmp.iterdir() if path.name.startswith(".mine")) == []
