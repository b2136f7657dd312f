"""The password in a database or Redis URL is never printed, by any command, in any error.

Every command runs as a real process (what a user or a CI log sees), against URLs carrying a
distinctive password: an unreachable server (port 1 refuses at once), the real local PostgreSQL with
an unknown role or an unknown database, and a password given as a query parameter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Backend

SECRET = "S3cr3tPw"
SOME_ID = "batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X"  # well-formed, so the command gets as far as the database

# Every command that needs the database; each must fail with exit 5 and one masked line.
BACKEND_COMMANDS = [
    ["show", SOME_ID],
    ["show", SOME_ID, "--json"],
    ["list"],
    ["list", "--json"],
    ["create", "--type", "noop"],
    ["create", "--type", "noop", "--json"],
    ["confirm", SOME_ID],
    ["cancel", SOME_ID],
    ["retry", SOME_ID],
    ["events", SOME_ID],
    ["events", SOME_ID, "--json"],
    ["wait", SOME_ID, "--timeout", "1"],
    ["watch", SOME_ID],
    ["worker", "--burst"],
    ["worker"],
    ["db", "upgrade"],
    ["products", "count"],
    ["products", "seed", "--count", "1"],
]
# Commands that only need the strategies: they work, and print no URL either.
LOCAL_COMMANDS = [["strategies"], ["strategies", "--json"], ["template", "product-import"]]

# (URL, how it must be shown)
DATABASE_URLS = {
    "unreachable": (
        f"postgresql+psycopg://app:{SECRET}@127.0.0.1:1/batch",
        "postgresql+psycopg://app:***@127.0.0.1:1/batch",
    ),
    "unknown-role-on-real-server": (
        f"postgresql+psycopg://app:{SECRET}@127.0.0.1:5432/does_not_exist_xyz",
        "postgresql+psycopg://app:***@127.0.0.1:5432/does_not_exist_xyz",
    ),
    # The role exists (trust auth ignores the password), so the server's refusal names the database.
    "unknown-database-on-real-server": (
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:5432/does_not_exist_xyz",
        "postgresql+psycopg://postgres:***@127.0.0.1:5432/does_not_exist_xyz",
    ),
    "password-in-query": (
        f"postgresql://app@127.0.0.1:1/batch?password={SECRET}",
        "postgresql://app@127.0.0.1:1/batch?password=***",
    ),
}


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """This machine's environment without any BATCHCTL_* of the caller, plus ``overrides``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BATCHCTL_")}
    env.update(BATCHCTL_HOME=str(tmp_path / "home"), BATCHCTL_USER="tester", NO_COLOR="1", **overrides)
    return env


def run_all(commands: list[list[str]], env: dict[str, str], cwd: Path) -> dict[str, tuple[int, str, str]]:
    """Run the commands as concurrent real processes: {command line: (exit code, stdout, stderr)}."""
    processes = {
        " ".join(args): subprocess.Popen(
            [sys.executable, "-m", "batchctl", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    }
    results = {}
    for line, process in processes.items():
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"`batchctl {line}` did not finish within 60s; stderr: {err}")
        results[line] = (process.returncode, out, err)
    return results


def problems_with_unavailable(results: dict[str, tuple[int, str, str]], prefix: str) -> dict[str, tuple[int, str, str]]:
    """The results that are not: exit 5, nothing on stdout, one stderr line starting with ``prefix``."""
    return {
        line: (code, out, err)
        for line, (code, out, err) in results.items()
        if code != 5 or out != "" or not err.startswith(prefix) or err.count("\n") != 1 or not err.endswith("\n")
    }


def leaks(results: dict[str, tuple[int, str, str]]) -> list[str]:
    """The commands whose output contains the password."""
    return [line for line, (_, out, err) in results.items() if SECRET in out or SECRET in err]


@pytest.mark.parametrize("case", list(DATABASE_URLS))
def test_a_bad_database_url_is_reported_masked_by_every_command(case: str, tmp_path: Path) -> None:
    url, masked = DATABASE_URLS[case]
    results = run_all(BACKEND_COMMANDS, clean_env(tmp_path, BATCHCTL_DATABASE_URL=url), tmp_path)
    assert leaks(results) == []
    assert problems_with_unavailable(results, f"error: database {masked} is unavailable: ") == {}


def test_commands_that_need_no_backend_work_and_print_no_password(tmp_path: Path) -> None:
    url, _ = DATABASE_URLS["unreachable"]
    results = run_all(LOCAL_COMMANDS, clean_env(tmp_path, BATCHCTL_DATABASE_URL=url), tmp_path)
    assert leaks(results) == []
    assert {line: code for line, (code, _, _) in results.items()} == {" ".join(c): 0 for c in LOCAL_COMMANDS}
    assert "noop" in results["strategies"][1]


@pytest.mark.parametrize(
    ("redis_url", "masked"),
    [
        (f"redis://:{SECRET}@127.0.0.1:1/0", "redis://:***@127.0.0.1:1/0"),
        (f"redis://app:{SECRET}@127.0.0.1:1/0", "redis://app:***@127.0.0.1:1/0"),
    ],
)
def test_a_worker_with_an_unreachable_redis_exits_5_naming_it_masked(
    backend: Backend, redis_url: str, masked: str
) -> None:
    # The database is good (either backend's); only the queue is not.
    results = run_all(
        [["worker", "--burst"], ["worker"]],
        {**os.environ, **backend.env, "BATCHCTL_REDIS_URL": redis_url},
        backend.tmp,
    )
    assert leaks(results) == []
    assert problems_with_unavailable(results, f"error: queue {masked} is unavailable: ") == {}


def test_a_malformed_redis_url_is_bad_input_and_stays_masked(backend: Backend) -> None:
    # A typo in the configuration is the user's input (exit 2, naming the variable), like a bad
    # BATCHCTL_DATABASE_URL; not an "unexpected" error that asks for a traceback.
    results = run_all(
        [["worker", "--burst"]],
        {**os.environ, **backend.env, "BATCHCTL_REDIS_URL": f"redis://:{SECRET}@127.0.0.1:notaport/0"},
        backend.tmp,
    )
    assert leaks(results) == []
    code, out, err = results["worker --burst"]
    assert (code, out, err.count("\n")) == (2, "", 1), err
    assert err.startswith("error: ") and "BATCHCTL_REDIS_URL" in err, err
