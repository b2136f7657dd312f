"""Files over HTTP: uploads for product-import (Medusa's context.fileKey), exports downloaded by signed,
expiring URLs, each only for its owner."""

from __future__ import annotations

import time

from tests.conftest import Backend
from tests.http.conftest import Server, job_of, start_server, wait_for_status


def test_upload_import_export_and_download_only_for_the_owner(backend: Backend) -> None:
    server = start_server(backend, env={"BATCHCTL_HTTP_DOWNLOAD_SECONDS": "2"})
    try:
        run(server, backend)
    finally:
        assert server.stop() == 0


def run(server: Server, backend: Backend) -> None:
    alice = server.client(server.add_user("alice"))
    bob = server.client(server.add_user("bob"))
    template = backend.run("template", "product-import").stdout.encode()
    uploaded = alice.post("/admin/uploads", files={"files": ("../../products.csv", template, "text/csv")})
    assert uploaded.status_code == 200, uploaded.text
    [entry] = uploaded.json()["uploads"]
    key = entry["key"]
    assert key.startswith("uploads/alice/") and key.endswith("/products.csv")
    assert alice.get(entry["url"]).content == template

    # Medusa's import: context.fileKey, the key of an upload. The job shows the key, never the server's path.
    body = {"type": "product-import", "context": {"fileKey": key}, "dry_run": True}
    job = job_of(alice.post("/admin/batch-jobs", json=body), 201)
    assert job["context"]["file_key"] == key
    assert str(backend.tmp) not in str(job)
    assert backend.burst().code == 0
    job = wait_for_status(alice, job["id"], "pre_processed")
    assert job["result"]["count"] >= 1

    # Not bob's upload, and never a path on the server.
    refused = bob.post("/admin/batch-jobs", json=body)
    assert (refused.status_code, refused.json()["type"]) == (400, "not_allowed")
    for context in ({"file_key": "/etc/passwd"}, {"file": "/etc/passwd"}, {"fileKey": "uploads/alice/../../x"}):
        answer = alice.post("/admin/batch-jobs", json={"type": "product-import", "context": context})
        assert (answer.status_code, answer.json()["type"]) == (400, "invalid_data"), context
    assert bob.post("/admin/uploads/download-url", json={"file_key": key}).json()["type"] == "not_allowed"

    # Medusa's export context; the file is downloaded by a signed URL that only its owner can get.
    export = {"filterable_fields": {"status": ["draft", "published"]}, "batch_size": 50, "order": "created_at"}
    job = job_of(alice.post("/admin/batch-jobs", json={"type": "product-export", "context": export}), 201)
    assert job["context"]["chunk_size"] == 50 and job["context"]["status"] == ["draft", "published"]
    assert backend.burst().code == 0
    job = wait_for_status(alice, job["id"], "completed")
    file_key = job["result"]["file_key"]
    assert file_key.startswith("exports/products/") and str(backend.tmp) not in file_key
    link = alice.post("/admin/uploads/download-url", json={"file_key": file_key})
    assert link.status_code == 200, link.text
    url = link.json()["download_url"]
    with server.client() as anonymous:
        downloaded = anonymous.get(url)
        assert downloaded.status_code == 200
        assert downloaded.content.startswith(b"Product Id;Product Handle")
        assert bob.post("/admin/uploads/download-url", json={"file_key": file_key}).json()["type"] == "not_allowed"
        # An altered URL, another user's name in it, or an expired one: refused.
        payload, signature = url.rsplit("/", 1)[1].split(".")
        altered = url.replace(signature, signature[::-1])
        assert anonymous.get(altered).status_code == 403
        assert anonymous.get(url.replace(payload, payload[:-2] + "AA")).status_code == 403
        time.sleep(3)  # past the 2 s the server was told a link lives
        expired = anonymous.get(url)
        assert (expired.status_code, expired.json()["type"]) == (403, "not_allowed")
