"""Fuzzing the input surfaces: contexts (JSON and ``-c`` pairs), ages and times, settings, CSV rows.

Every generated input must give exit 0 or a documented code, and anything but success must be exactly one
``error: …`` line (never a traceback) that changed nothing. After all the inputs of a test, a real
``worker --burst`` must leave no job in a state where it waits for a worker: whatever was accepted, ends.

The CLI runs in this process (``batchctl.cli.app.main``, the console script's own entry point), so a
test can try hundreds of inputs in seconds; the worker is a real process. BATCHCTL_FUZZ_EXAMPLES
scales the number of inputs (default 150 per surface and backend: about 2,000 inputs in all).
"""

from __future__ import annotations

import json
import os
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.inprocess import run_main
from tests.conftest import Backend

EXAMPLES = int(os.environ.get("BATCHCTL_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # every run explores afresh; a failure prints its input
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# What an input may end in: success, bad input, not found, refused (never 1: that is a bug or a failed wait).
DOCUMENTED = {0, 2, 3, 4}
TYPES = ["test-any-context", "test-picky", "product-export", "publish-products"]
WAITING = {"created", "confirmed", "processing"}  # a job in these states still needs a worker


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def _invoke(backend: Backend, argv: list[str], env: dict[str, str] | None = None) -> Outcome:
    """Run the CLI in this process as the console script would, with the backend's settings."""
    return Outcome(*run_main({**backend.env, **(env or {})}, *argv))


def _check(outcome: Outcome, argv: list[str]) -> None:
    where = f"argv={argv!r}"
    assert outcome.code in DOCUMENTED, (where, outcome)
    assert "Traceback" not in outcome.stderr + outcome.stdout, (where, outcome)
    if outcome.code != 0:
        assert outcome.stderr.startswith("error: ") and outcome.stderr.count("\n") == 1, (where, outcome)
        assert outcome.stdout == "", (where, outcome)


def _job_count(backend: Backend) -> int:
    listed = _invoke(backend, ["list", "--json", "--limit", "1"])
    assert listed.code == 0, listed
    return int(json.loads(listed.stdout)["count"])


def _create_checked(backend: Backend, argv: list[str], env: dict[str, str] | None = None) -> None:
    """``create``: a documented outcome, and a job exactly when it succeeded."""
    before = _job_count(backend)
    outcome = _invoke(backend, argv, env)
    _check(outcome, argv)
    assert _job_count(backend) == before + (outcome.code == 0), (argv, env, outcome)


def _all_jobs_end(backend: Backend) -> None:
    burst = backend.burst(timeout=600)
    assert burst.code == 0, burst.stderr
    listed = _invoke(backend, ["list", "--json", "--limit", "100000"])
    waiting = [(job["id"], job["type"], job["status"]) for job in json.loads(listed.stdout)["batch_jobs"]]
    assert [job for job in waiting if job[2] in WAITING] == []


@pytest.fixture
def fuzzed(backend: Backend) -> Backend:
    assert backend.cli("db", "upgrade").code == 0  # the schema exists before the first in-process call
    return backend


# -- generated values ------------------------------------------------------------------------------------------

# Text of every kind, lone surrogates and NUL included (they reach the CLI from argv and files).
ANY_TEXT = st.text(st.characters(codec=None), max_size=40)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)
CONTEXTS = st.dictionaries(
    st.sampled_from(["count", "sleep", "name", "status", "handles", "created_after", "fields", "file"]) | ANY_TEXT,
    JSON_VALUES,
    max_size=4,
)
# A JSON document as text: valid objects, other JSON, NaN-bearing dumps, deep nesting and plain garbage.
CONTEXT_TEXTS = st.one_of(
    CONTEXTS.map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.integers(min_value=60, max_value=5000).map(lambda depth: '{"a": ' + "[" * depth + "]" * depth + "}"),
    ANY_TEXT,
)
UNITS = st.sampled_from(["", "s", "m", "h", "d", "w", "ms", "y", " d", "D", "e9d"])
AGES = st.one_of(
    st.builds(lambda number, unit: f"{number}{unit}", st.integers(min_value=-(10**20), max_value=10**20), UNITS),
    st.builds(lambda number, unit: f"{number}{unit}", st.floats(allow_nan=True, allow_infinity=True), UNITS),
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda moment: moment.isoformat()),
    st.builds(
        lambda year, month, day, offset: f"{year:04d}-{month:02d}-{day:02d}T00:00:00{offset}",
        st.integers(min_value=0, max_value=9999),
        st.integers(min_value=0, max_value=13),
        st.integers(min_value=0, max_value=32),
        st.sampled_from(["", "Z", "+05:00", "-23:59", "+24:00", "+5"]),
    ),
    st.text(string.digits + "-:T.+Zsmhdw ", max_size=30),
    ANY_TEXT,
)
SECONDS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", ""]),
    ANY_TEXT,
)
NUMERIC_SETTINGS = [
    "BATCHCTL_LEASE_SECONDS",
    "BATCHCTL_POLL_INTERVAL",
    "BATCHCTL_RETRY_BASE_SECONDS",
    "BATCHCTL_MAX_ATTEMPTS",
    "BATCHCTL_RECONCILE_INTERVAL",
]
ENV_TEXT = st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=30)  # no NUL in environ


def _fits_environ(text: str) -> bool:
    """What a process can be given as a setting: no NUL, and encodable (as os.environ encodes it)."""
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


SETTINGS = st.one_of(
    st.tuples(st.sampled_from(NUMERIC_SETTINGS), SECONDS.filter(_fits_environ) | ENV_TEXT),
    st.tuples(st.just("BATCHCTL_USER"), ENV_TEXT),
)
# CSV cells: Medusa-ish values, separators, quotes, formula triggers and line breaks inside cells.
CELLS = st.one_of(
    st.sampled_from(["", "draft", "published", "true", "false", "10", "-5", "1e9", "EUR", "'=1+1", '"', ";", "\n"]),
    st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=20),
)


# -- the tests ---------------------------------------------------------------------------------------------------


@FUZZ
@given(batch_type=st.sampled_from(TYPES), text=CONTEXT_TEXTS, dry_run=st.booleans())
def test_any_context_text_is_created_or_refused_in_one_line(
    fuzzed: Backend, batch_type: str, text: str, dry_run: bool
) -> None:
    argv = ["create", "--type", batch_type, "--context", text, "-q", *(["--dry-run"] if dry_run else [])]
    _create_checked(fuzzed, argv)


@FUZZ
@given(batch_type=st.sampled_from(TYPES), pairs=st.lists(st.tuples(ANY_TEXT, ANY_TEXT), min_size=1, max_size=4))
def test_any_pairs_are_created_or_refused_in_one_line(
    fuzzed: Backend, batch_type: str, pairs: list[tuple[str, str]]
) -> None:
    argv = ["create", "--type", batch_type, "-q"]
    for key, value in pairs:
        argv += ["-c", f"{key}={value}"]
    _create_checked(fuzzed, argv)


def test_every_accepted_context_ends_after_a_burst(fuzzed: Backend) -> None:
    @FUZZ
    @given(batch_type=st.sampled_from(TYPES), context=CONTEXTS)
    def create(batch_type: str, context: dict[str, Any]) -> None:
        _create_checked(fuzzed, ["create", "--type", batch_type, "--context", json.dumps(context), "-q"])

    create()
    _all_jobs_end(fuzzed)


@FUZZ
@given(age=AGES, option=st.sampled_from(["--created-after", "--created-before"]))
def test_any_age_or_time_filters_or_is_refused(fuzzed: Backend, age: str, option: str) -> None:
    argv = ["list", option, age, "--json"]
    outcome = _invoke(fuzzed, argv)
    _check(outcome, argv)
    if outcome.code == 0:
        json.loads(outcome.stdout)  # the listing is valid JSON


@FUZZ
@given(age=AGES)
def test_any_prune_age_is_taken_or_refused(fuzzed: Backend, age: str) -> None:
    argv = ["prune", "--older-than", age, "--dry-run", "--json"]
    _check(_invoke(fuzzed, argv), argv)


@FUZZ
@given(timeout=SECONDS)
def test_any_wait_timeout_is_taken_or_refused(fuzzed: Backend, timeout: str) -> None:
    made = _invoke(fuzzed, ["create", "--type", "test-any-context", "-q", "--dry-run"])
    assert made.code == 0, made
    # The job waits at pre_processed for no one: wait --for it with a timeout that must not hang or crash.
    argv = ["wait", made.stdout.strip(), "--for", "created", "--timeout", timeout]
    _check(_invoke(fuzzed, argv), argv)


def test_any_setting_is_used_or_refused_before_anything_is_written(fuzzed: Backend) -> None:
    @FUZZ
    @given(setting=SETTINGS)
    def create(setting: tuple[str, str]) -> None:
        name, value = setting
        _create_checked(fuzzed, ["create", "--type", "test-any-context", "-q"], env={name: value})

    create()
    _all_jobs_end(fuzzed)


def test_any_csv_rows_are_imported_or_reported(fuzzed: Backend) -> None:
    header = fuzzed.cli("template", "product-import").stdout.splitlines()[0].split(";")
    files = iter(range(10**6))

    @settings(FUZZ, max_examples=max(EXAMPLES // 4, 10))
    @given(
        rows=st.lists(
            st.lists(CELLS, min_size=0, max_size=len(header) + 2).map(lambda cells: cells + [""] * len(header)),
            min_size=0,
            max_size=4,
        ),
        width=st.integers(min_value=0, max_value=len(header) + 2),
        dry_run=st.booleans(),
    )
    def create(rows: list[list[str]], width: int, dry_run: bool) -> None:
        path = Path(fuzzed.tmp) / f"fuzz-{next(files)}.csv"
        lines = [";".join(header)] + [";".join(_csv_cell(cell) for cell in row[:width]) for row in rows]
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
        argv = ["create", "--type", "product-import", "-c", f"file={path}", "-q", *(["--dry-run"] if dry_run else [])]
        _create_checked(fuzzed, argv)

    create()
    _all_jobs_end(fuzzed)


def _csv_cell(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(char in cell for char in ';"\r\n') else cell
