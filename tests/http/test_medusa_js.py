"""Medusa's own client (tests/js, @medusajs/medusa-js 6.1.10 under node's test runner) against a real
``batchctl serve`` and a real worker, on both backends. ``scripts/test`` installs the client (npm ci)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, Backend
from tests.http.conftest import Server

JS = REPO / "tests" / "js"
DRAFTS = 25


def test_medusa_js_against_batchctl_serve(backend: Backend, server: Server) -> None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "@medusajs" / "medusa-js").is_dir():
        pytest.fail("Node.js and tests/js/node_modules are needed: run `npm ci --prefix tests/js` (scripts/test does)")
    assert backend.cli("products", "seed", "--count", str(DRAFTS)).code == 0
    token = server.add_user("admin_user", email="admin@example.com", password="a long password")
    other = server.add_user("other_user")
    backend.start_worker()
    done = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(Path("tests") / "js")],
        cwd=REPO,
        env={
            **os.environ,
            "BATCHCTL_URL": server.base_url,
            "BATCHCTL_TOKEN": token,
            "BATCHCTL_OTHER_TOKEN": other,
            "BATCHCTL_DRAFTS": str(DRAFTS),
            "BATCHCTL_EMAIL": "admin@example.com",
            "BATCHCTL_PASSWORD": "a long password",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nserver log:\n{server.log}"
