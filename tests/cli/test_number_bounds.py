"""Whole numbers out of their documented range (batchctl.bounds): one line, exit 2, nothing written.

Before, ``list --limit 9223372036854775808`` reached the database and came back as "unexpected
OverflowError" (exit 1); each option and setting now has a range that --help and the README show.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from hypothesis import given
from hypothesis import strategies as st

import batchctl
from batchctl import bounds
from batchctl.errors import BadInput
from batchctl.http.config import ServerConfig
from tests.conftest import Backend

TOO_BIG = str(2**63)  # one more than the database's largest integer


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


def nothing_written(backend: Backend) -> None:
    assert backend.cli("list", "--json").json()["count"] == 0
    assert set(backend.cli("products", "count", "--json").json().values()) <= {0}
    assert backend.cli("schedule", "list", "--json").json()["schedules"] == []
    assert backend.cli("webhooks", "list", "--json").json()["webhooks"] == []


OPTIONS = {
    "list-limit-huge": (("list", "--limit", TOO_BIG), "--limit", "0<=x<=1000000"),
    "list-limit-negative": (("list", "--limit", "-1"), "--limit", "0<=x<=1000000"),
    "list-offset-huge": (("list", "--offset", TOO_BIG), "--offset", "0<=x<=999999999999999"),
    "list-offset-negative": (("list", "--offset", "-1"), "--offset", "0<="),
    "worker-concurrency-0": (("worker", "--concurrency", "0"), "--concurrency", "1<=x<=256"),
    "worker-concurrency-huge": (("worker", "-n", TOO_BIG), "--concurrency", "1<=x<=256"),
    "seed-count-huge": (("products", "seed", "--count", TOO_BIG), "--count", "0<=x<=1000000"),
    "seed-count-negative": (("products", "seed", "--count", "-1"), "--count", "0<=x<=1000000"),
    "seed-variants": (("products", "seed", "--variants", "101"), "--variants", "0<=x<=100"),
    "webhook-attempts-0": (
        ("webhooks", "add", "http://127.0.0.1:9/hook", "--max-attempts", "0"),
        "--max-attempts",
        "1<=x<=1000",
    ),
    "webhook-attempts-huge": (
        ("webhooks", "add", "http://127.0.0.1:9/hook", "--max-attempts", TOO_BIG),
        "--max-attempts",
        "1<=x<=1000",
    ),
    "webhook-timeout-nan": (("webhooks", "add", "http://127.0.0.1:9/hook", "--timeout", "nan"), "--timeout", "finite"),
    "webhook-timeout-long": (("webhooks", "add", "http://127.0.0.1:9/hook", "--timeout", "301"), "--timeout", "300"),
    "deliveries-limit": (("webhooks", "deliveries", "wh_0123456789ab", "--limit", TOO_BIG), "--limit", "1000000"),
    "serve-port": (("serve", "--port", "70000"), "--port", "1<=x<=65535"),
    "prune-age": (("prune", "--older-than", "999999999d"), "--older-than", "at most 36500d"),
    "schedule-every": (("schedule", "add", "far", "--type", "noop", "--every", "999999999d"), "--every", "36500d"),
    "created-after-age": (("list", "--created-after", "36501d"), "--created-after", "36500d"),
}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_an_option_out_of_its_range_is_one_line_exit_2(backend: Backend, case: str) -> None:
    args, option, allowed = OPTIONS[case]
    result = backend.cli(*args)
    assert result.code == 2, (result.stdout, result.stderr)
    line = one_line(result.stderr)
    assert option in line and allowed in line, line
    assert result.stdout == ""
    nothing_written(backend)


def test_the_ranges_are_in_the_help(backend: Backend) -> None:
    assert "0<=x<=1000000" in backend.cli("list", "--help").stdout
    assert "1<=x<=256" in backend.cli("worker", "--help").stdout


def test_the_largest_values_in_range_work(backend: Backend) -> None:
    listed = backend.cli("list", "--limit", "1000000", "--offset", "999999999999999", "--json")
    assert listed.code == 0, listed.stderr
    assert listed.json()["batch_jobs"] == [] and listed.json()["offset"] == 999999999999999
    assert backend.cli("prune", "--older-than", "36500d").code == 0


SETTINGS = {
    "BATCHCTL_MAX_ATTEMPTS": ["0", "-1", "1001", "99999999999999999999999", "1.5", "²", "three"],
    "BATCHCTL_LEASE_SECONDS": ["0", "-5", "1e300", "31536001"],
    "BATCHCTL_POLL_INTERVAL": ["1e300"],
    "BATCHCTL_RECONCILE_INTERVAL": ["-1", "99999999999"],
    "BATCHCTL_RETRY_BASE_SECONDS": ["1e20"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in SETTINGS.items() for v in values])
def test_a_setting_out_of_its_range_is_refused_before_anything_is_written(
    backend: Backend, name: str, value: str
) -> None:
    made = backend.cli("create", "--type", "noop", "-q", env={name: value})
    assert made.code == 2, (made.stdout, made.stderr)
    line = one_line(made.stderr)
    assert name in line and "must be a" in line, line
    nothing_written(backend)


HTTP_SETTINGS = {
    "BATCHCTL_HTTP_MAX_BODY": ["0", "1099511627777"],
    "BATCHCTL_HTTP_MAX_UPLOAD": ["-1"],
    "BATCHCTL_HTTP_MAX_PAGE": ["1000001", "²"],
    "BATCHCTL_HTTP_SESSION_SECONDS": ["99999999999999999", "0"],
    "BATCHCTL_HTTP_DOWNLOAD_SECONDS": ["31536001"],
    "BATCHCTL_HTTP_LOGIN_FAILURES": ["1e3"],
    "BATCHCTL_HTTP_LOGIN_FAILURES_PER_ADDRESS": [TOO_BIG],
    "BATCHCTL_HTTP_TOKEN_FAILURES": ["0"],
    "BATCHCTL_HTTP_TIMEOUT": ["1e300", "nan"],
    "BATCHCTL_HTTP_THROTTLE_WINDOW": ["-1"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in HTTP_SETTINGS.items() for v in values])
def test_a_server_setting_out_of_its_range_is_bad_input(
    patched_env: Callable[[dict[str, str]], AbstractContextManager[None]], name: str, value: str
) -> None:
    with patched_env({name: value}), pytest.raises(BadInput) as refused:
        ServerConfig.from_env()
    assert str(refused.value).startswith(f"{name} must be a ")
    assert "\n" not in str(refused.value)


def test_serve_with_a_bad_server_setting_exits_2_in_one_line(backend: Backend) -> None:
    served = backend.run("serve", "--port", "9", env={"BATCHCTL_HTTP_SESSION_SECONDS": "99999999999999999"}, timeout=30)
    assert served.code == 2, (served.stdout, served.stderr)
    assert "BATCHCTL_HTTP_SESSION_SECONDS" in one_line(served.stderr)


def test_the_python_api_refuses_the_same_numbers(backend: Backend) -> None:
    jobs = batchctl.connect(database_url=backend.env["BATCHCTL_DATABASE_URL"], user="tester")
    with pytest.raises(batchctl.BadInput, match="limit must be a whole number from 0 to 1000000"):
        jobs.list(limit=2**63)
    with pytest.raises(batchctl.BadInput, match="offset must be a whole number from 0 to"):
        jobs.list(offset=-1)
    with pytest.raises(batchctl.BadInput, match="lease_seconds must be a finite number of seconds"):
        batchctl.connect(database_url=backend.env["BATCHCTL_DATABASE_URL"], lease_seconds=1e300)
    with pytest.raises(batchctl.BadInput, match="max_attempts must be a whole number from 1 to 1000"):
        batchctl.connect(database_url=backend.env["BATCHCTL_DATABASE_URL"], max_attempts=0)


@given(st.text(max_size=30) | st.integers().map(str) | st.just("9" * 5000))
def test_parsing_a_whole_number_setting_returns_one_in_range_or_refuses_it(raw: str) -> None:
    bound = bounds.Bound(1, 1000)
    try:
        value = bound.parse("BATCHCTL_X", raw)
    except BadInput as refused:
        assert str(refused).startswith("BATCHCTL_X must be a whole number from 1 to 1000")
    else:
        assert 1 <= value <= 1000 and value == int(raw.strip())


@given(st.integers() | st.floats() | st.booleans() | st.none() | st.text(max_size=5))
def test_checking_a_whole_number_returns_it_in_range_or_refuses_it(value: object) -> None:
    try:
        checked = bounds.LIMIT.check("limit", value)
    except BadInput:
        assert isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000
    else:
        assert checked == value and type(checked) is int
