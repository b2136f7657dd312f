"""A closed stdout or stderr, or a reader that went away: never a traceback.

The rule (cli/app.py main): a stream closed by the caller (``>&-``, ``2>&-``) is /dev/null — the
command does its work and exits with its own code; a reader that goes away (EPIPE) is not an error —
batchctl stops writing and exits 0, as Unix tools do after SIGPIPE. Errors still go to stderr.
Real processes, with the stream closed in the child before batchctl starts.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest

from tests.conftest import BATCHCTL, Backend


def create_many(backend: Backend, n: int) -> list[str]:
    from batchctl.runtime import Runtime
    from batchctl.service import create_job

    runtime = Runtime(backend.settings)
    made = [create_job(runtime, "noop", {"count": 1}, dry_run=False)["id"] for _ in range(n)]
    runtime.db.discard_connection()
    return made


def run_closing(
    backend: Backend, *args: str, close: tuple[int, ...], env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run batchctl with the fds ``close`` closed in the child: (exit code, stdout, stderr) of the open ones."""

    def closer() -> None:
        for fd in close:
            os.close(fd)

    done = subprocess.run(
        [*BATCHCTL, *args],
        env={**os.environ, **backend.env, **(env or {})},
        cwd=backend.tmp,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=closer,  # the fds are closed after the fork, before batchctl starts
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def run_into_gone_reader(backend: Backend, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run batchctl writing to a pipe whose reading end is closed before it starts: (exit code, stderr)."""
    read, write = os.pipe()
    os.close(read)  # the reader went away before the first row
    try:
        done = subprocess.run(
            [*BATCHCTL, *args],
            env={**os.environ, **backend.env, **(env or {})},
            cwd=backend.tmp,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    return done.returncode, done.stderr


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "Exception ignored" not in text and "Error" not in text


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_closed_stdout_is_dev_null(backend: Backend, debug: str) -> None:
    create_many(backend, 3)
    code, _, err = run_closing(backend, "list", "--limit", "100", close=(1,), env={"BATCHCTL_DEBUG": debug})
    assert (code, err) == (0, "")
    # The command still does its work: the job exists, and the database was not written through fd 1.
    code, _, err = run_closing(backend, "create", "--type", "noop", close=(1,), env={"BATCHCTL_DEBUG": debug})
    assert code == 0, err
    assert no_traceback(err), err
    listed = backend.run("list", "--limit", "100", "--json")
    assert listed.code == 0, listed.stderr
    assert listed.json()["count"] == 4


def test_an_error_with_a_closed_stdout_still_reaches_stderr(backend: Backend) -> None:
    code, _, err = run_closing(backend, "show", "batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X", close=(1,))
    assert code == 3
    assert err == "error: Batch job with id batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X was not found\n"


@pytest.mark.parametrize("close", [(2,), (1, 2)], ids=["stderr", "both"])
def test_a_closed_stderr_keeps_the_exit_code_and_does_not_loop(backend: Backend, close: tuple[int, ...]) -> None:
    for debug in ("0", "1"):
        env = {"BATCHCTL_DEBUG": debug}
        code, out, _ = run_closing(backend, "show", "not-an-id", close=close, env=env)
        assert code == 2
        assert out == ""  # nothing spilled onto stdout instead
        code, out, _ = run_closing(backend, "show", "batch_01JD5Z8M3N4P5Q6R7S8T9V0W1X", close=close, env=env)
        assert code == 3 and out == ""
    code, out, _ = run_closing(backend, "list", close=close)
    assert code == 0
    assert out.startswith("ID") or 1 in close


Args = Callable[[list[str]], list[str]]
COMMANDS: list[tuple[str, Args]] = [
    ("list", lambda ids: ["list", "--limit", "500"]),
    ("list-json", lambda ids: ["list", "--limit", "500", "--json"]),
    ("list-q", lambda ids: ["list", "--limit", "500", "-q"]),
    ("show", lambda ids: ["show", ids[0]]),
    ("events", lambda ids: ["events", ids[0]]),
    ("events-json", lambda ids: ["events", ids[0], "--json"]),
]


@pytest.mark.parametrize("command", [c for _, c in COMMANDS], ids=[name for name, _ in COMMANDS])
def test_a_reader_gone_before_the_first_row_is_exit_0_and_silent(backend: Backend, command: Args) -> None:
    made = create_many(backend, 400)
    for debug in ("0", "1"):
        code, err = run_into_gone_reader(backend, *command(made), env={"BATCHCTL_DEBUG": debug})
        assert (code, err) == (0, ""), err


def test_head_0_sees_no_traceback(backend: Backend) -> None:
    create_many(backend, 300)
    piped = subprocess.run(
        ["bash", "-c", 'set -o pipefail; "$@" list --limit 300 | head -0; echo "status=$?"', "_", *BATCHCTL],
        env={**os.environ, **backend.env},
        cwd=backend.tmp,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.stderr == ""
    assert piped.stdout == "status=0\n"
