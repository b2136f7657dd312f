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
