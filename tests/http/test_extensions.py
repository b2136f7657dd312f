"""batchctl's extensions and a server's necessities: retry, the events stream, idempotent creates, CORS,
limits, malformed input, and SIGTERM draining a stream and exiting 0."""

from __future__ import annotations

import json
import threading

import httpx

from tests.conftest import Backend
from tests.http.conftest import Server, job_of, start_server


def test_retry_a_failed_job(server: Server, backend: Backend) -> None:
    alice = server.client(server.add_user("alice"))
    job = job_of(alice.post("/admin/batch-jobs", json={"type": "test-fail", "context": {}}), 201)
    assert backend.burst().code == 0
    assert job_of(alice.get(f"/admin/batch-jobs/{job['id']}"))["status"] == "failed"
    retried = job_of(alice.post(f"/admin/batch-jobs/{job['id']}/retry"))
    assert retried["status"] != "failed" and retried["attempts"] == 0
    refused = alice.post(f"/admin/batch-jobs/{job['id']}/retry")
    assert (refused.status_code, refused.json()["type"]) == (400, "not_allowed")


def test_events_stream_until_the_job_ends(server: Server, backend: Backend) -> None:
    alice = server.client(server.add_user("alice"))
    job = job_of(alice.post("/admin/batch-jobs", json={"type": "noop", "context": {"count": 3}}), 201)
    backend.start_worker()
    names: list[str] = []
    with alice.stream("GET", f"/admin/batch-jobs/{job['id']}/events", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                names.append(line[len("event: ") :])
            if line.startswith("data: ") and names[-1].startswith("batch."):
                assert json.loads(line[len("data: ") :])["job_id"] == job["id"]
    assert names[0] == "batch.created"
    assert "batch.completed" in names and names[-1] == "end"
    # Last-Event-ID resumes after an event: the stream of a finished job repeats nothing before it.
    with alice.stream("GET", f"/admin/batch-jobs/{job['id']}/events", headers={"Last-Event-ID": "999999"}) as rest:
        assert [line for line in rest.iter_lines() if line.startswith("event: ")] == ["event: end"]


def test_a_repeated_idempotency_key_returns_the_first_job(server: Server) -> None:
    alice = server.client(server.add_user("alice"))
    bob = server.client(server.add_user("bob"))
    body = {"type": "noop", "context": {}, "dry_run": True}
    key = {"Idempotency-Key": "5f0c6a3e-7a43-4b43-9f0e-0d5d7c1f7b11"}
    first = job_of(alice.post("/admin/batch-jobs", json=body, headers=key), 201)
    again = job_of(alice.post("/admin/batch-jobs", json=body, headers=key), 201)
    assert again["id"] == first["id"]
    assert alice.get("/admin/batch-jobs").json()["count"] == 1
    # The same key from another user is another user's create.
    assert job_of(bob.post("/admin/batch-jobs", json=body, headers=key), 201)["id"] != first["id"]
    # Eight concurrent repeats still make one job.
    key = {"Idempotency-Key": "concurrent"}
    ids: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: ids.append(job_of(alice.post("/admin/batch-jobs", json=body, headers=key), 201)["id"])
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    assert alice.get("/admin/batch-jobs").json()["count"] == 2


def test_cors_limits_and_malformed_input(backend: Backend) -> None:
    env = {"BATCHCTL_ADMIN_CORS": "http://admin.example:7001", "BATCHCTL_HTTP_MAX_BODY": "2000"}
    server = start_server(backend, env=env)
    try:
        token = server.add_user("alice")
        alice = server.client(token)
        preflight = {
            "Origin": "http://admin.example:7001",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-medusa-access-token",
        }
        with server.client() as anonymous:
            allowed = anonymous.options("/admin/batch-jobs", headers=preflight)
            assert allowed.status_code == 200
            assert allowed.headers["access-control-allow-origin"] == "http://admin.example:7001"
            assert allowed.headers["access-control-allow-credentials"] == "true"
            other = anonymous.options("/admin/batch-jobs", headers={**preflight, "Origin": "http://evil.example"})
            assert "access-control-allow-origin" not in other.headers
        listed = alice.get("/admin/batch-jobs", headers={"Origin": "http://admin.example:7001"})
        assert listed.headers["access-control-allow-origin"] == "http://admin.example:7001"

        too_big = alice.post("/admin/batch-jobs", json={"type": "noop", "context": {"x": "y" * 3000}})
        assert (too_big.status_code, too_big.json()["type"]) == (413, "invalid_data")
        malformed = alice.post("/admin/batch-jobs", content=b'{"type": ', headers={"content-type": "application/json"})
        assert (malformed.status_code, malformed.json()["type"]) == (400, "invalid_data")
        assert "Traceback" not in malformed.text
        many = alice.get("/admin/batch-jobs", params={"limit": "5000"})
        assert many.json() == {"type": "invalid_data", "message": "limit must not be greater than 1000"}
        bare = alice.post("/admin/batch-jobs", json={"type": 1, "foo": 2})
        assert bare.json() == {
            "type": "invalid_data",
            "message": "type must be a string, context must be an object, property foo should not exist",
        }
        assert alice.get("/admin/batch-jobs", params={"fields": "id,status"}).status_code == 200
    finally:
        assert server.stop() == 0


def test_sigterm_ends_streams_and_exits_0(backend: Backend) -> None:
    server = start_server(backend)
    alice = server.client(server.add_user("alice"))
    job = job_of(alice.post("/admin/batch-jobs", json={"type": "noop", "context": {}, "dry_run": True}), 201)
    events: list[str] = []
    opened = threading.Event()

    def listen() -> None:
        with alice.stream("GET", f"/admin/batch-jobs/{job['id']}/events", timeout=60) as stream:
            for line in stream.iter_lines():
                opened.set()
                if line.startswith("event: "):
                    events.append(line)

    listener = threading.Thread(target=listen)
    listener.start()
    assert opened.wait(30)
    assert server.stop() == 0  # the job never ends: only the shutdown ends its stream
    listener.join(30)
    assert events == ["event: batch.created", "event: shutdown"]
    try:
        httpx.get(f"{server.base_url}/openapi.json", timeout=2)
        raise AssertionError("the server still answers")
    except httpx.ConnectError:
        pass
