"""A contract fuzz run: schemathesis generates a few hundred requests from ``/openapi.json`` against a real
server; no answer is a 5xx, and every answer's status, content type and body match the document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Backend
from tests.http.conftest import Server

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_schemathesis_finds_no_5xx_and_no_undocumented_answer(server: Server, backend: Backend) -> None:
    token = server.add_user("fuzz", email="fuzz@example.com", password="the fuzzer's password")
    # A few real jobs, so that generated lists have something to page through.
    with server.client(token) as client:
        for dry_run in (True, False):
            assert (
                client.post("/admin/batch-jobs", json={"type": "noop", "context": {}, "dry_run": dry_run}).status_code
                == 201
            )
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{server.base_url}/openapi.json",
            "--header",
            f"x-medusa-access-token: {token}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,fuzzing",
            "--max-examples",
            "25",
            "--generation-codec",
            "utf-8",
            "--seed",
            "20261201",
            "--request-timeout",
            "20",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=backend.tmp,
    )
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-2000:]}\nserver log:\n{server.log[-3000:]}"
    assert "generated" in done.stdout
    assert "Traceback" not in server.log, server.log[-3000:]
