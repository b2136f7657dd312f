"""The README's "Use it from Python" example runs as written, against a real worker, on both backends."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import Backend

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the section has a python block"
    return match.group(1)


def test_the_python_example_runs_as_written(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "20").code == 0
    backend.start_worker()
    ran = subprocess.run(
        [sys.executable, "-c", readme_example()],
        env={**backend.env, "PATH": "/usr/bin:/bin"},
        cwd=backend.tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == "20 draft products will be published"
    assert "published 20 products" in lines
    assert "Cannot confirm processing for a batch job that is not pre processed" in lines
    assert lines[-2:] == ["1 completed publish-products jobs; True", "True"]
    events = [line.split(" ", 1)[1] for line in lines if " batch." in line]
    assert events == ["batch.created", "batch.pre_processed", "batch.confirmed", "batch.processing", "batch.completed"]
