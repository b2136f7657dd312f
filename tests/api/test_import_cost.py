"""Importing the public API stays cheap: no queue, server, ORM or terminal stack.

The modules are read from ``sys.modules`` in a fresh interpreter rather than from ``-X importtime``, which
does not list what ``importlib.import_module`` (batchctl's lazy names) loads itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("huey", "redis", "sqlalchemy", "sqlmodel", "rich", "alembic", "psycopg", "uvicorn", "fastapi", "starlette")


@pytest.mark.parametrize(
    "code",
    [
        "import batchctl; batchctl.connect",
        "import batchctl; batchctl.Jobs; batchctl.BatchJob; batchctl.Event; batchctl.NotFound",
        "from batchctl import connect, BatchJobStrategy, Job",
    ],
)
def test_the_public_api_imports_none_of_the_heavy_stack(code: str) -> None:
    probe = f"{code}; import sys, json; print(json.dumps(sorted(sys.modules)))"
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    imported = json.loads(ran.stdout)
    assert "batchctl.client" in imported or "batchctl.strategy" in imported  # the names really were loaded
    assert sorted(name for name in imported if name.split(".")[0] in HEAVY) == []
