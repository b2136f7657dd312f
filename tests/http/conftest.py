"""A real ``batchctl serve`` process on a free port, on each backend, and httpx clients for its users."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import BATCHCTL, Backend


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """One ``batchctl serve`` process and what it answered (every body, to scan for secrets)."""

    backend: Backend
    process: subprocess.Popen[str]
    base_url: str
    bodies: list[str] = field(default_factory=list)

    def add_user(self, name: str, *, email: str | None = None, password: str | None = None) -> str:
        """``batchctl users add`` through the CLI; its token."""
        args = ["users", "add", name]
        if email:
            args += ["--email", email]
        if password:
            args += ["--password-stdin"]
        done = subprocess.run(
            [*BATCHCTL, *args],
            env={**os.environ, **self.backend.env},
            input=(password or "") + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.backend.tmp,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        """An httpx client for this server (with ``token`` as ``x-medusa-access-token``); records each body."""
        if token is not None:
            headers["x-medusa-access-token"] = token

        def record(response: httpx.Response) -> None:
            if response.headers.get("content-type", "").startswith("text/event-stream"):
                return  # a stream is read by its test, as it comes
            response.read()
            self.bodies.append(response.text)

        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30, event_hooks={"response": [record]})

    @property
    def log(self) -> str:
        """What the server printed."""
        path = self.backend.tmp / "serve.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_server(backend: Backend, env: dict[str, str] | None = None) -> Server:
    """Start ``batchctl serve`` on a free port and wait until it answers."""
    port = free_port()
    log = (backend.tmp / "serve.log").open("a")
    process = subprocess.Popen(
        [*BATCHCTL, "serve", "--port", str(port)],
        env={**os.environ, **backend.env, **(env or {})},
        cwd=backend.tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log.close()
    server = Server(backend, process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"batchctl serve exited with {process.returncode}: {server.log}")
        try:
            if httpx.get(f"{server.base_url}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"batchctl serve did not answer within 60 s: {server.log}")
        time.sleep(0.1)


@pytest.fixture
def server(backend: Backend) -> Iterator[Server]:
    """``batchctl serve`` on the backend, stopped (SIGTERM) when the test ends."""
    running = start_server(backend)
    yield running
    running.stop()


def job_of(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The ``batch_job`` of a response that must have ``status``."""
    assert response.status_code == status, response.text
    job: dict[str, Any] = response.json()["batch_job"]
    return job


def wait_for_status(client: httpx.Client, job_id: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """Retrieve until the job is in ``status`` (fails the test on a terminal status or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        job = job_of(client.get(f"/admin/batch-jobs/{job_id}"))
        if job["status"] == status:
            return job
        if job["status"] in ("failed", "canceled", "completed"):
            pytest.fail(f"job {job_id} ended {job['status']} while waiting for {status}: {job}")
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {job['status']} after {timeout} s, waiting for {status}")
        time.sleep(0.05)
