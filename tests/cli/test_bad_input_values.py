"""Bad values (NaN/infinity in settings, ages and times out of range): exit 2, one line, nothing written."""

from __future__ import annotations

import pytest

from tests.conftest import Backend


def _job_count(backend: Backend) -> int:
    listed = backend.cli("list", "--json")
    assert listed.code == 0, listed.stderr
    return len(listed.json())


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "infinity"])
@pytest.mark.parametrize("name", ["BATCHCTL_LEASE_SECONDS", "BATCHCTL_POLL_INTERVAL", "BATCHCTL_RETRY_BASE_SECONDS"])
def test_non_finite_setting_is_refused_before_anything_is_written(backend: Backend, name: str, value: str) -> None:
    before = _job_count(backend)
    made = backend.cli("create", "--type", "noop", "-q", env={name: value})
    assert made.code == 2, (made.stdout, made.stderr)
    lines = made.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and "finite" in lines[0], made.stderr
    assert _job_count(backend) == before


@pytest.mark.parametrize(
    "value", ["99999999999d", "99999999d", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
def test_out_of_range_moment_is_one_line_exit_2(backend: Backend, value: str) -> None:
    listed = backend.cli("list", "--created-after", value)
    assert listed.code == 2, (listed.stdout, listed.stderr)
    lines = listed.stderr.strip().splitlines()
    assert len(lines) == 1 and "--created-after" in lines[0], listed.stderr
