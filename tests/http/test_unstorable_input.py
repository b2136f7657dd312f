"""Numbers and text no database can take are a 400 with one message, before any SQL (real server, both backends)."""

from __future__ import annotations

from tests.conftest import Backend
from tests.http.conftest import Server, job_of


def test_a_context_that_cannot_be_stored_is_a_400_and_writes_nothing(server: Server) -> None:
    alice = server.client(server.add_user("alice"))
    for context, where in (({"a": "x\u0000y"}, "context.a"), ({"a": [1, 2**70]}, "context.a[1]")):
        refused = alice.post("/admin/batch-jobs", json={"type": "noop", "context": context})
        assert refused.status_code == 400, refused.text
        assert f"cannot store {where}" in refused.json()["message"]
    assert alice.get("/admin/batch-jobs").json()["count"] == 0


def test_a_last_event_id_beyond_any_event_is_a_400_not_an_overflow(server: Server, backend: Backend) -> None:
    alice = server.client(server.add_user("alice"))
    job = job_of(alice.post("/admin/batch-jobs", json={"type": "noop", "context": {}, "dry_run": True}), 201)
    refused = alice.get(f"/admin/batch-jobs/{job['id']}/events", headers={"Last-Event-ID": "9" * 30})
    assert refused.status_code == 400, refused.text
    assert "Last-Event-ID" in refused.json()["message"]
    huge_offset = alice.get("/admin/batch-jobs", params={"offset": "9" * 30})
    assert huge_offset.status_code == 400, huge_offset.text
