"""A newcomer's first day (issue 15): --version, shell completion, plain grammar, quiet that is quiet.

Real ``python -m batchctl`` processes: the version, the completion protocol and the exit codes are
properties of the process.
"""

from __future__ import annotations

import re
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
