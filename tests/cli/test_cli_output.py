"""What real processes print: JSON that parses, plain text on a pipe, colour only on a terminal, streams that end.

These run `python -m batchctl` as a separate process on purpose: colour detection, pipes, closed pipes and
exit statuses are properties of the process, not of an in-process call.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import queue
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BATCHCTL, Backend

LIFECYCLE = ["created", "pre_processed", "confirmed", "processing", "completed"]


def create(backend: Backend, *args: str) -> str:
    made = backend.cli("create", *args, "-q")
    assert made.code == 0, made.stderr
    return made.stdout.strip()


def colour_env(backend: Backend, **extra: str) -> dict[str, str]:
    """The backend's environment with NO_COLOR unset and a colour-capable TERM: colour is allowed if wanted."""
    env = {**os.environ, **backend.env, "TERM": "xterm-256color", "COLUMNS": "200", **extra}
    for name in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS"):
        if name not in extra:
            env.pop(name, None)
    return env


def run_piped(backend: Backend, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BATCHCTL, *args], env=env, cwd=backend.tmp, capture_output=True, text=True, timeout=60, check=False
    )


def run_in_terminal(backend: Backend, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run with stdout on a pseudo-terminal, as a person at a shell would: (exit code, stdout, stderr)."""
    main, child = pty.openpty()
    process = subprocess.Popen(
        [*BATCHCTL, *args], stdin=child, stdout=child, stderr=subprocess.PIPE, env=env, cwd=backend.tmp
    )
    os.close(child)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end of the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    os.close(main)
    return process.returncode, b"".join(chunks).decode(), err


class Lines:
    """A process's stdout read line by line on a thread, so a test can wait for a line with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(process,), daemon=True)
        self._thread.start()

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next(self, timeout: float = 30) -> str | None:
        """The next line; None at end of output."""
        return self._queue.get(timeout=timeout)

    def rest(self, timeout: float = 60) -> list[str]:
        """Every remaining line, up to the end of output."""
        found = []
        while (line := self.next(timeout)) is not None:
            found.append(line)
        return found


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


# -- JSON and colour -------------------------------------------------------------------------------------------


def test_show_json_parses_and_has_no_escape_codes(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "-c", "count=2")
    shown = backend.run("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    assert "\x1b" not in shown.stdout
    assert shown.json()["id"] == job_id


def test_show_json_on_a_terminal_is_still_plain_json(backend: Backend) -> None:
    # Even where colour is allowed (a terminal, NO_COLOR unset), machine output must stay parseable.
    job_id = create(backend, "--type", "noop")
    code, out, err = run_in_terminal(backend, "show", job_id, "--json", env=colour_env(backend))
    assert code == 0, err
    assert "\x1b" not in out
    assert json.loads(out)["id"] == job_id


def test_human_show_and_list_on_a_pipe_have_no_escape_codes(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "--dry-run")
    env = colour_env(backend)
    shown = run_piped(backend, "show", job_id, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout
    assert job_id in shown.stdout and "created" in shown.stdout
    listed = run_piped(backend, "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "\x1b" not in listed.stdout
    assert job_id in listed.stdout
    assert listed.stdout.splitlines()[0].split() == ["ID", "TYPE", "STATUS", "PROGRESS", "CREATED"]


def test_user_text_that_looks_like_markup_is_printed_as_is(backend: Backend) -> None:
    # A context value is data: "[bold]" in it must not be eaten as a style tag by the plain renderer.
    job_id = create(backend, "--type", "test-picky", "-c", "name=[bold]x[/]")
    shown = backend.run("show", job_id)
    assert shown.code == 0, shown.stderr
    assert '"name": "[bold]x[/]"' in shown.stdout


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colour_codes(text: str) -> list[str]:
    """The SGR sequences in ``text`` that set a colour (bold and friends are styles, not colours)."""
    found = []
    for match in _SGR.finditer(text):
        params = [int(p) for p in match.group(1).split(";") if p]
        if any(30 <= p <= 38 or 40 <= p <= 48 or 90 <= p <= 97 or 100 <= p <= 107 for p in params):
            found.append(match.group(0))
    return found


def test_a_terminal_gets_colour_unless_no_color_is_set(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")
    code, coloured, err = run_in_terminal(backend, "show", job_id, env=colour_env(backend))
    assert code == 0, err
    assert colour_codes(coloured)  # Rich colours the status on a terminal
    code, plain, err = run_in_terminal(backend, "show", job_id, env=colour_env(backend, NO_COLOR="1"))
    assert code == 0, err
    # NO_COLOR (no-color.org) is about colour: Rich may keep bold, but no colour may remain.
    assert colour_codes(plain) == []
    assert job_id in plain


def test_human_show_of_a_dry_run_waiting_job_says_how_to_confirm(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "--dry-run", "-c", "count=4")
    burst = backend.burst()
    assert burst.code == 0, burst.stderr
    shown = backend.run("show", job_id)
    assert shown.code == 0, shown.stderr
    assert "pre_processed" in shown.stdout
    assert f"batchctl confirm {job_id}" in shown.stdout
    # A job that needs no confirm does not tell anyone to confirm it.
    other = create(backend, "--type", "noop")
    assert "batchctl confirm" not in backend.run("show", other).stdout


# -- streams: watch and events --follow ------------------------------------------------------------------------


def test_watch_prints_one_plain_line_per_change_and_exits_when_the_job_ends(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "-c", "count=5", "-c", "sleep=0.1", "-c", "chunk_size=1")
    watcher = backend.popen("watch", job_id, "--interval", "0.05")
    try:
        lines = Lines(watcher)
        # The worker starts only after watch has printed the job as created: the first line is deterministic.
        first = lines.next()
        assert first == f"{job_id} noop created -", first
        backend.start_worker()
        rest = lines.rest()
        watcher.wait(timeout=30)
    finally:
        stop(watcher)
    assert watcher.returncode == 0
    assert watcher.stderr is not None and watcher.stderr.read() == ""
    seen = [first, *rest]
    assert seen[-1] == f"{job_id} noop completed 5/5 (100%)"
    # One line per change: no line repeats the one before it.
    assert all(before != after for before, after in itertools.pairwise(seen)), seen
    assert all(line.startswith(f"{job_id} noop ") and "\x1b" not in line for line in seen)
    # Statuses only move forward through the lifecycle.
    order = [LIFECYCLE.index(line.split()[2]) for line in seen]
    assert order == sorted(order), seen


def test_watch_with_nothing_active_exits_at_once(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")
    assert backend.cli("cancel", job_id, "-q").code == 0
    watched = backend.run("watch", timeout=30)
    assert watched.code == 0, watched.stderr
    assert watched.stdout == ""


def test_watch_of_an_ended_job_prints_it_once_and_exits(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")
    assert backend.cli("cancel", job_id, "-q").code == 0
    watched = backend.run("watch", job_id, timeout=30)
    assert watched.code == 0, watched.stderr
    assert watched.stdout.splitlines() == [f"{job_id} noop canceled -"]


def test_events_follow_json_prints_json_lines_until_the_job_ends(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop", "-c", "count=3")
    follower = backend.popen("events", job_id, "--follow", "--json")
    try:
        lines = Lines(follower)
        first = lines.next()
        assert first is not None
        backend.start_worker()  # only now can the job move on
        rest = lines.rest()
        follower.wait(timeout=30)
    finally:
        stop(follower)
    assert follower.returncode == 0
    events: list[dict[str, Any]] = [json.loads(line) for line in [first, *rest]]
    assert [event["name"] for event in events] == [
        "batch.created",
        "batch.pre_processed",
        "batch.confirmed",
        "batch.processing",
        "batch.completed",
    ]
    assert all(event["job_id"] == job_id for event in events)
    assert [event["id"] for event in events] == sorted({event["id"] for event in events})  # no event twice


def test_events_follow_of_an_ended_job_prints_its_history_and_exits(backend: Backend) -> None:
    job_id = create(backend, "--type", "noop")
    assert backend.cli("cancel", job_id, "-q").code == 0
    followed = backend.run("events", job_id, "--follow", "--json", timeout=30)
    assert followed.code == 0, followed.stderr
    names = [json.loads(line)["name"] for line in followed.stdout.splitlines()]
    assert names == ["batch.created", "batch.canceled"]


# -- closed pipes ----------------------------------------------------------------------------------------------


def _shell(backend: Backend, script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, **backend.env, "BATCHCTL": " ".join(BATCHCTL)},
        cwd=backend.tmp,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_reader_that_stops_early_causes_no_traceback(backend: Backend) -> None:
    for _ in range(30):
        create(backend, "--type", "noop")
    piped = _shell(backend, "$BATCHCTL list --limit 100 | head -c 10")
    assert piped.stdout == "ID".ljust(10)
    assert "Traceback" not in piped.stderr
    assert "Exception ignored" not in piped.stderr


@pytest.mark.parametrize(
    "args",
    [("list", "--limit", "100"), ("list", "--limit", "100", "-q"), ("events", "{id}")],
    ids=["list", "list-q", "events"],
)
def test_a_reader_that_is_gone_is_not_an_error(backend: Backend, args: tuple[str, ...]) -> None:
    # `true` exits without reading, so even the first line hits a closed pipe: a few jobs are enough.
    made = [create(backend, "--type", "noop") for _ in range(3)]
    argv = " ".join(arg.replace("{id}", made[0]) for arg in args)
    # pipefail exposes batchctl's own exit status, which `| true` would otherwise hide.
    piped = _shell(backend, f'set -o pipefail; $BATCHCTL {argv} | true; echo "status=$?"')
    assert "Traceback" not in piped.stderr
    assert piped.stderr == ""
    # app.main's contract for a reader going away: not an error, exit 0.
    assert piped.stdout.strip() == "status=0"


def test_a_long_output_through_a_pipe_arrives_whole(backend: Backend) -> None:
    # The console script leaves with os._exit (no interpreter teardown): what it printed must all be flushed.
    from batchctl.runtime import Runtime
    from batchctl.service import create_job

    runtime = Runtime(backend.settings)
    made = {create_job(runtime, "noop", {"count": 1}, dry_run=False)["id"] for _ in range(300)}
    runtime.db.discard_connection()
    done = backend.run("list", "--limit", "300", "--json")
    assert done.code == 0
    assert {job["id"] for job in json.loads(done.stdout)["batch_jobs"]} == made


# -- help ------------------------------------------------------------------------------------------------------

COMMANDS = [
    (),
    ("create",),
    ("confirm",),
    ("cancel",),
    ("retry",),
    ("show",),
    ("list",),
    ("watch",),
    ("wait",),
    ("events",),
    ("template",),
    ("strategies",),
    ("worker",),
    ("prune",),
    ("db",),
    ("db", "upgrade"),
    ("products",),
    ("products", "seed"),
    ("products", "count"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "batchctl" for c in COMMANDS])
def test_help_of_every_command_exits_0(command: tuple[str, ...], tmp_path: Path) -> None:
    env = {**os.environ, "BATCHCTL_HOME": str(tmp_path / "home")}
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [*BATCHCTL, *command, "--help"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout
    assert done.stderr == ""
    assert "\x1b" not in done.stdout  # help on a pipe is plain text too
