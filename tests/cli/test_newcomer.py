"""A newcomer's first day (issue 15): --version, shell completion, plain grammar, quiet that is quiet.

Real ``python -m batchctl`` processes: the version, the completion protocol and the exit codes are
properties of the process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version

from tests.conftest import Backend


def test_version_prints_the_installed_version_and_exits_0(backend: Backend) -> None:
    done = backend.run("--version")
    assert done.code == 0, done.stderr
    assert done.stdout == f"batchctl {version('batchctl')}\n"
    assert re.fullmatch(r"batchctl \d+\.\d+\.\d+\S*\n", done.stdout)
    assert done.stderr == ""


def test_a_bad_number_is_refused_in_plain_words(backend: Backend) -> None:
    whole = backend.run("worker", "--concurrency", "x")
    assert whole.code == 2 and whole.stdout == ""
    assert whole.stderr.startswith("error: Invalid value for '--concurrency' / '-n': 'x' is not a whole number.")
    seconds = backend.run("wait", "batch_x", "--timeout", "soon")
    assert seconds.code == 2 and seconds.stdout == ""
    assert seconds.stderr.startswith("error: Invalid value for '--timeout': 'soon' is not a number.")
    for done in (whole, seconds):
        assert " int" not in done.stderr and "float" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_prune_counts_in_plural_when_nothing_matched(backend: Backend) -> None:
    done = backend.run("prune", "--older-than", "30d")
    assert done.code == 0, done.stderr
    assert done.stdout == "deleted 0 jobs and 0 files\n"
    preview = backend.run("prune", "--older-than", "30d", "--dry-run")
    assert preview.stdout == "would delete 0 jobs and 0 files\n"


def _create(backend: Backend, *args: str) -> str:
    made = backend.run("create", "--type", "noop", *args, "-q")
    assert made.code == 0, made.stderr
    return made.stdout.strip()


def test_wait_prints_one_line_the_id_with_q_and_the_job_with_json(backend: Backend) -> None:
    job_id = _create(backend, "-c", "count=2")
    dry = _create(backend, "--dry-run")
    assert backend.burst().code == 0
    waited = backend.run("wait", job_id, "--timeout", "30")
    assert (waited.code, waited.stdout, waited.stderr) == (0, f"{job_id} completed\n", "")
    reached = backend.run("wait", dry, "--for", "pre_processed", "--timeout", "30")
    assert (reached.code, reached.stdout) == (0, f"{dry} pre_processed\n")
    quiet = backend.run("wait", job_id, "--timeout", "30", "-q")
    assert (quiet.code, quiet.stdout) == (0, f"{job_id}\n")
    as_json = backend.run("wait", job_id, "--timeout", "30", "--json")
    assert as_json.code == 0 and as_json.json()["id"] == job_id and as_json.json()["status"] == "completed"


def test_wait_on_a_job_that_ended_badly_prints_its_line_and_exits_1(backend: Backend) -> None:
    job_id = _create(backend)
    assert backend.run("cancel", job_id, "-q").code == 0
    waited = backend.run("wait", job_id, "--timeout", "30")
    assert (waited.code, waited.stdout) == (1, f"{job_id} canceled\n")
    assert waited.stderr == f"error: batch job {job_id} ended canceled\n"
    quiet = backend.run("wait", job_id, "--timeout", "30", "-q")
    assert (quiet.code, quiet.stdout) == (1, "")  # -q prints the id only when the job got there
    unreachable = backend.run("wait", job_id, "--for", "completed", "--timeout", "30")
    assert (unreachable.code, unreachable.stdout) == (1, f"{job_id} canceled\n")


def test_wait_help_lists_every_status(backend: Backend) -> None:
    from batchctl.cli.jobs import WAIT_STATUSES
    from batchctl.lifecycle import JobStatus

    assert WAIT_STATUSES.split(", ") == [status.value for status in JobStatus]
    helped = backend.run("wait", "--help", env={"COLUMNS": "300"})
    assert helped.code == 0
    assert WAIT_STATUSES in " ".join(helped.stdout.split())


def test_list_quiet_prints_only_ids_without_the_more_warning(backend: Backend) -> None:
    made = [_create(backend) for _ in range(4)]
    quiet = backend.run("list", "--limit", "3", "-q")
    assert quiet.code == 0 and quiet.stderr == ""
    assert quiet.stdout.splitlines() == made[::-1][:3]
    table = backend.run("list", "--limit", "3")
    assert "showing 3 of 4" in table.stderr  # the warning is there without -q: the assertion above can fail


def test_bash_completion_of_con_yields_confirm(backend: Backend) -> None:
    """The protocol the installed bash script speaks: _BATCHCTL_COMPLETE=complete_bash with COMP_WORDS/COMP_CWORD."""
    env = {"_BATCHCTL_COMPLETE": "complete_bash", "COMP_WORDS": "batchctl con", "COMP_CWORD": "1"}
    done = backend.run(env=env)
    assert (done.code, done.stdout, done.stderr) == (0, "confirm\n", "")
    every = backend.run(env={**env, "COMP_WORDS": "batchctl "})
    assert {"create", "confirm", "wait", "list", "prune"} <= set(every.stdout.split())


def test_the_bash_completion_script_completes_in_a_real_bash(backend: Backend) -> None:
    shown = backend.run("--show-completion", "bash")
    assert shown.code == 0, shown.stderr
    assert "complete -o default -F _batchctl_completion batchctl" in shown.stdout
    assert "_BATCHCTL_COMPLETE=complete_bash" in shown.stdout
    # The script calls `batchctl` by name: put a `batchctl` that is this interpreter's CLI first on PATH.
    bin_dir = backend.tmp / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "batchctl"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m batchctl "$@"\n')
    launcher.chmod(0o755)
    (backend.tmp / "completion.bash").write_text(shown.stdout)
    script = (
        "source completion.bash; COMP_WORDS=(batchctl con); COMP_CWORD=1; _batchctl_completion batchctl; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, **backend.env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(
        ["bash", "--norc", "-c", script], env=env, cwd=backend.tmp, capture_output=True, text=True, timeout=60
    )
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "confirm\n", "")
