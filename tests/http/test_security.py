"""Security of the Admin API against a real server: credentials, ownership, and what bodies never carry."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import Backend
from tests.http.conftest import Server, job_of, start_server

SECRET = "s" * 40
NOT_YOURS = {"type": "not_allowed", "message": "Cannot access a batch job that does not belong to the logged in user"}
A_JOB = "batch_00000000000000000000000000"


def routes(job_id: str) -> list[tuple[str, str, Any]]:
    """Every authenticated route, with a body that would be valid."""
    return [
        ("GET", "/admin/batch-jobs", None),
        ("POST", "/admin/batch-jobs", {"type": "noop", "context": {}}),
        ("GET", f"/admin/batch-jobs/{job_id}", None),
        ("POST", f"/admin/batch-jobs/{job_id}/confirm", {}),
        ("POST", f"/admin/batch-jobs/{job_id}/cancel", {}),
        ("POST", f"/admin/batch-jobs/{job_id}/retry", {}),
        ("GET", f"/admin/batch-jobs/{job_id}/events", None),
        ("GET", "/admin/auth", None),
        ("DELETE", "/admin/auth", None),
        ("POST", "/admin/uploads/download-url", {"file_key": f"{job_id}/export.csv"}),
    ]


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, (response.request.method, response.request.url, response.text)
    assert response.text == "Unauthorized"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.fixture
def secured(backend: Backend) -> Any:
    running = start_server(backend, env={"BATCHCTL_JWT_SECRET": SECRET})
    yield running
    assert running.stop() == 0


def test_every_route_refuses_missing_wrong_revoked_and_rotated_credentials(secured: Server, backend: Backend) -> None:
    alice_token = secured.add_user("alice", email="alice@example.com", password="alice's password")
    carol_token = secured.add_user("carol")
    alice = secured.client(alice_token)
    job_id = job_of(alice.post("/admin/batch-jobs", json={"type": "noop", "context": {}}), 201)["id"]
    signed_in = alice.post("/admin/auth/token", json={"email": "alice@example.com", "password": "alice's password"})
    access = signed_in.json()["access_token"]
    session = alice.post("/admin/auth", json={"email": "alice@example.com", "password": "alice's password"})
    session_cookie = session.cookies["batchctl_session"]
    alice.cookies.clear()

    rotated = backend.run("users", "token", "alice", "--rotate")
    assert rotated.code == 0, rotated.stderr
    new_token = rotated.stdout.strip()
    assert backend.run("users", "remove", "carol").code == 0
    now = int(time.time())
    forged = jwt.encode({"sub": "alice", "nonce": "x", "typ": "access", "iat": now, "exp": now + 60}, "wrong" * 10)
    tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")

    refused = {
        "no credential": {},
        "a wrong token": {"x-medusa-access-token": "bct_" + "A" * 43},
        "not even a token": {"x-medusa-access-token": "test_token"},
        "a revoked token (user removed)": {"x-medusa-access-token": carol_token},
        "a rotated token": {"x-medusa-access-token": alice_token},
        "a JWT signed with another secret": {"authorization": f"Bearer {forged}"},
        "a tampered JWT": {"authorization": f"Bearer {tampered}"},
        "a session cookie used as a bearer": {"authorization": f"Bearer {session_cookie}"},
        "a JWT used as the cookie": {"cookie": f"batchctl_session={access}"},
        "a forged cookie": {"cookie": f"batchctl_session={forged}"},
    }
    with secured.client() as anonymous:
        for method, path, body in routes(job_id):
            for name, headers in refused.items():
                response = anonymous.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (name, method, path, response.text)
                assert_unauthorized(response)
    # The new token and the JWT still work: only what was revoked is refused.
    assert secured.client(new_token).get(f"/admin/batch-jobs/{job_id}").status_code == 200
    assert secured.client(authorization=f"Bearer {access}").get("/admin/batch-jobs").status_code == 200


def test_an_expired_jwt_and_the_jwt_of_a_removed_user_are_refused(secured: Server, backend: Backend) -> None:
    secured.add_user("dave", email="dave@example.com", password="dave's password")
    with secured.client() as anonymous:
        answer = anonymous.post("/admin/auth/token", json={"email": "dave@example.com", "password": "dave's password"})
        access = answer.json()["access_token"]
        claims = jwt.decode(access, SECRET, algorithms=["HS256"])
        expired = jwt.encode({**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600}, SECRET)
        assert_unauthorized(anonymous.get("/admin/batch-jobs", headers={"authorization": f"Bearer {expired}"}))
        assert anonymous.get("/admin/batch-jobs", headers={"authorization": f"Bearer {access}"}).status_code == 200
        # The cookie session of POST /admin/auth: HttpOnly, SameSite=Lax, and refused once the user is gone.
        session = anonymous.post("/admin/auth", json={"email": "dave@example.com", "password": "dave's password"})
        cookie = session.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert anonymous.get("/admin/auth").json()["user"]["id"] == "dave"
        assert backend.run("users", "remove", "dave").code == 0
        assert_unauthorized(anonymous.get("/admin/auth"))
        anonymous.cookies.clear()
        assert_unauthorized(anonymous.get("/admin/batch-jobs", headers={"authorization": f"Bearer {access}"}))
    # Added again under the same name, dave is a new user: the old JWT does not come back to life.
    secured.add_user("dave")
    assert_unauthorized(secured.client(authorization=f"Bearer {access}").get("/admin/batch-jobs"))


def test_a_user_cannot_touch_another_users_jobs(server: Server, backend: Backend) -> None:
    alice = server.client(server.add_user("alice"))
    bob = server.client(server.add_user("bob"))
    # A job alice created from the shell (BATCHCTL_USER=alice) is alice's over HTTP.
    shell = backend.run("create", "--type", "test-fail", "-q", env={"BATCHCTL_USER": "alice"})
    assert shell.code == 0, shell.stderr
    from_shell = shell.stdout.strip()
    assert job_of(alice.get(f"/admin/batch-jobs/{from_shell}"))["created_by"] == "alice"
    assert backend.burst().code == 0
    assert job_of(alice.get(f"/admin/batch-jobs/{from_shell}"))["status"] == "failed"
    dry = job_of(alice.post("/admin/batch-jobs", json={"type": "noop", "context": {}, "dry_run": True}), 201)["id"]

    for job_id in (from_shell, dry):
        for method, path in [
            ("GET", f"/admin/batch-jobs/{job_id}"),
            ("POST", f"/admin/batch-jobs/{job_id}/confirm"),
            ("POST", f"/admin/batch-jobs/{job_id}/cancel"),
            ("POST", f"/admin/batch-jobs/{job_id}/retry"),
            ("GET", f"/admin/batch-jobs/{job_id}/events"),
        ]:
            response = bob.request(method, path)
            assert (response.status_code, response.json()) == (400, NOT_YOURS), (method, path)
    listed = bob.get("/admin/batch-jobs", params={"id[]": [from_shell, dry]}).json()
    assert (listed["batch_jobs"], listed["count"]) == ([], 0)
    assert {job["id"] for job in alice.get("/admin/batch-jobs").json()["batch_jobs"]} == {from_shell, dry}
    # Nothing bob tried changed alice's jobs.
    assert job_of(alice.get(f"/admin/batch-jobs/{dry}"))["status"] == "created"
    assert job_of(alice.get(f"/admin/batch-jobs/{from_shell}"))["status"] == "failed"


def test_no_body_carries_a_token_a_hash_a_path_or_the_database_url(server: Server, backend: Backend) -> None:
    token = server.add_user("erin", email="erin@example.com", password="erin's password")
    erin = server.client(token)
    job_id = job_of(erin.post("/admin/batch-jobs", json={"type": "noop", "context": {}}), 201)["id"]
    erin.get("/admin/batch-jobs", params={"expand": "created_by_user"})
    erin.get(f"/admin/batch-jobs/{job_id}")
    erin.get("/admin/auth")
    erin.post("/admin/auth", json={"email": "erin@example.com", "password": "erin's password"})
    erin.post(
        "/admin/batch-jobs", content=b'{"type": "noop", "context": {', headers={"content-type": "application/json"}
    )
    erin.post("/admin/batch-jobs", json={"type": "test-picky", "context": {}})
    erin.post("/admin/batch-jobs", json={"type": "product-import", "context": {"file_key": "/etc/passwd"}})
    erin.get("/admin/batch-jobs", params={"fields": "id,status,nope", "limit": "x"})
    erin.get("/admin/no-such-route")
    listed = backend.run("users", "list", "--json")
    bodies = [*server.bodies, listed.stdout]
    assert len(server.bodies) >= 10
    database_url = backend.env["BATCHCTL_DATABASE_URL"]
    forbidden = [
        token,
        hashlib.sha256(token.encode()).hexdigest(),
        "scrypt$",
        database_url,
        database_url.split("://", 1)[1],
        str(backend.tmp),
        "Traceback",
        'File "',
    ]
    for body in bodies:
        for secret in forbidden:
            assert secret not in body, (secret, body)


def test_failed_sign_ins_are_throttled_per_account(backend: Backend) -> None:
    running = start_server(backend, env={"BATCHCTL_HTTP_LOGIN_FAILURES": "3"})
    try:
        running.add_user("frank", email="frank@example.com", password="frank's password")
        with running.client() as anonymous:
            for _ in range(3):
                wrong = anonymous.post("/admin/auth/token", json={"email": "frank@example.com", "password": "nope"})
                assert_unauthorized(wrong)
            right = {"email": "FRANK@example.com", "password": "frank's password"}
            throttled = anonymous.post("/admin/auth/token", json=right)
            assert throttled.status_code == 429, throttled.text
            assert throttled.json()["type"] == "not_allowed"
            assert int(throttled.headers["retry-after"]) >= 1
            # Another account from the same address is not locked out by frank's failures.
            running.add_user("gina", email="gina@example.com", password="gina's password")
            other = anonymous.post(
                "/admin/auth/token", json={"email": "gina@example.com", "password": "gina's password"}
            )
            assert other.status_code == 200
    finally:
        assert running.stop() == 0


def test_failed_tokens_are_throttled_per_address(backend: Backend) -> None:
    running = start_server(backend, env={"BATCHCTL_HTTP_TOKEN_FAILURES": "4"})
    try:
        token = running.add_user("hank")
        with running.client() as anonymous:
            for _ in range(4):
                assert_unauthorized(anonymous.get("/admin/batch-jobs", headers={"x-medusa-access-token": "bct_x"}))
            throttled = anonymous.get("/admin/batch-jobs", headers={"x-medusa-access-token": token})
            assert throttled.status_code == 429
            assert "Retry-After" in throttled.headers or "retry-after" in throttled.headers
    finally:
        assert running.stop() == 0
