"""Webhooks against a real HTTP receiver on 127.0.0.1: signatures, retries with backoff, the delivery log, timeouts."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from batchctl.subscribers.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from tests.conftest import Backend, wait_until
from tests.integration.subscribers import create_jobs, delivery_counts, events_by_job, recorded, use_subscribers


class Receiver:
    """What the test server saw: each request's delivery id, body, and whether its signature verified."""

    def __init__(self, secret: str | None = None, fail_first: int = 0, hang: bool = False) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.hang = hang
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.lock = threading.Lock()


@contextmanager
def receiver(state: Receiver) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if state.hang:
                state.release.wait(60)  # never answers within the webhook's timeout
                return
            with state.lock:
                delivery = self.headers[DELIVERY_HEADER]
                tries = sum(1 for r in state.requests if r["delivery"] == delivery)
                state.requests.append(
                    {
                        "delivery": delivery,
                        "body": json.loads(body),
                        "verified": verify(state.secret or "", self.headers[SIGNATURE_HEADER], body),
                    }
                )
            code = 500 if tries < state.fail_first else 200
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"no" if code == 500 else b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def add_webhook(backend: Backend, url: str, *args: str) -> dict[str, Any]:
    added = backend.cli("webhooks", "add", url, "--json", *args)
    assert added.code == 0, added.stderr
    return added.json()


def test_a_webhook_is_signed_retried_with_backoff_and_logged(backend: Backend) -> None:
    state = Receiver(fail_first=2)
    with receiver(state) as url:
        hook = add_webhook(backend, url, "--events", "batch.completed")
        state.secret = hook["secret"]
        assert hook["secret"].startswith("whsec_")
        listed = backend.cli("webhooks", "list", "--json")
        assert hook["secret"] not in listed.stdout and listed.json()["webhooks"][0]["url"] == url
        [job_id] = create_jobs(backend, 1)
        backend.start_worker(env={"BATCHCTL_RETRY_BASE_SECONDS": "0.2"})
        wait_until(lambda: delivery_counts(backend, hook["id"]) == {"done": 1}, timeout=60)

    assert [r["verified"] for r in state.requests] == [True, True, True]
    assert len({r["delivery"] for r in state.requests}) == 1  # one id for every try: the receiver dedupes on it
    body = state.requests[-1]["body"]
    assert body["event"]["name"] == "batch.completed" and body["job"]["id"] == job_id
    assert body["job"]["status"] == "completed"
    log = backend.cli("webhooks", "deliveries", hook["id"], "--json").json()["deliveries"][::-1]
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in log] == [
        (1, 500, "retry"),
        (2, 500, "retry"),
        (3, 200, "succeed"),
    ]
    assert log[0]["next_try_at"] > log[0]["started_at"] and log[1]["next_try_at"] > log[1]["started_at"]
    assert log[2]["next_try_at"] is None and all(a["latency_ms"] > 0 for a in log)
    assert log[1]["started_at"] >= log[0]["next_try_at"]  # the second try waited for its backoff


def test_a_receiver_that_never_answers_is_cut_off_and_holds_up_nothing(backend: Backend) -> None:
    record = backend.tmp / "record.txt"
    use_subscribers(backend, "record", SUBS_RECORD_FILE=str(record))
    state = Receiver(hang=True)
    with receiver(state) as url:
        hook = add_webhook(backend, url, "--timeout", "0.5", "--max-attempts", "2")
        backend.start_worker(env={"BATCHCTL_RETRY_BASE_SECONDS": "0.1"})
        jobs = create_jobs(backend, 3)
        # The jobs complete and the Python subscriber gets every event while the webhook times out.
        wait_until(lambda: sum(1 for d in recorded(record) if d.phase == "end") == 15, timeout=60)
        assert all(backend.cli("show", job, "--json").json()["status"] == "completed" for job in jobs)
        wait_until(lambda: delivery_counts(backend, hook["id"]) == {"parked": 15}, timeout=120)
    log = backend.cli("webhooks", "deliveries", hook["id"], "--json", "--limit", "100").json()["deliveries"]
    assert len(log) == 30 and all(a["status_code"] is None for a in log)
    assert all("timed out" in (a["error"] or "").lower() for a in log), log[0]
    assert {e for ids in events_by_job(backend).values() for e in ids} == {a["event_id"] for a in log}


def test_secret_from_stdin_is_used_and_never_printed(backend: Backend) -> None:
    state = Receiver(secret="s3cret-from-stdin")
    with receiver(state) as url:
        added = subprocess.run(
            [sys.executable, "-m", "batchctl", "webhooks", "add", url, "--secret-stdin"],
            input="s3cret-from-stdin\n",
            env={**__import__("os").environ, **backend.env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        assert "s3cret" not in added.stdout + added.stderr
        hook_id = added.stdout.split()[2]
        tested = backend.cli("webhooks", "test", hook_id)
        assert tested.code == 0, tested.stdout + tested.stderr
    assert state.requests[0]["verified"] and state.requests[0]["body"]["event"]["name"] == "webhook.test"
    assert backend.cli("webhooks", "remove", hook_id).code == 0
    assert backend.cli("webhooks", "list", "--json").json() == {"webhooks": []}
    assert backend.cli("webhooks", "remove", hook_id).code == 3


def test_bad_webhook_input_is_one_line_and_writes_nothing(backend: Backend) -> None:
    bad_url = backend.cli("webhooks", "add", "ftp://example.com/x")
    assert bad_url.code == 2 and bad_url.stderr.startswith("error: webhook URL") and bad_url.stderr.count("\n") == 1
    bad_event = backend.cli("webhooks", "add", "http://127.0.0.1:9/x", "--events", "batch.done")
    assert bad_event.code == 2 and "unknown event 'batch.done'" in bad_event.stderr
    assert backend.cli("webhooks", "list", "--json").json() == {"webhooks": []}
