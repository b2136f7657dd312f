"""Passwords never reach the output: not in URLs, not in errors, not in `workers`, not in a debug traceback.

A password may hold any character (``/ @ % : # ?`` too), raw or percent-encoded. The properties run the
CLI's real entry point (``main``) over arbitrary passwords, against a database and a queue that refuse
the connection; the last tests run the real `batchctl` process against the real backends.

The strongest check is that the output does not depend on the password at all: it is the output for a
reference password, once that password's own spellings are masked in it as well. A password printed in
part (a driver taking ``ss`` of ``p@ss/w`` for a host name) would make them differ.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchctl.masking import (
    MIN_SECRET_LENGTH,
    driver_url,
    mask_text,
    mask_url,
    password_of,
    split_url,
    url_secrets,
)
from tests.cli.inprocess import environment, run_main
from tests.conftest import BATCHCTL, Backend

SPECIAL = "/@%:#?"
# Any character an environment variable can hold: printable or not, with the URL's special ones favoured.
ANY_CHAR = st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
PASSWORDS = st.text(ANY_CHAR, min_size=1, max_size=24)
REFERENCE = "Rf9kZ2wqRef"  # a password that appears nowhere in batchctl's output


def spellings(url: str, password: str) -> set[str]:
    """What must never be printed: the password, its percent-encoded forms, and the URL's own spellings of it."""
    found = {password, quote(password, safe=""), quote(password)} | url_secrets(url)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def postgres_urls(password: str) -> list[str]:
    return [
        f"postgresql+psycopg://u:{quote(password, safe='')}@127.0.0.1:1/x",  # percent-encoded, as it should be
        f"postgresql://u:{password}@127.0.0.1:1/x",  # raw, as people write it
    ]


def redis_urls(password: str) -> list[str]:
    return [f"redis://:{quote(password, safe='')}@127.0.0.1:1/0", f"redis://:{password}@127.0.0.1:1/0"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("masking")
    return {
        "BATCHCTL_HOME": str(tmp / "home"),
        "BATCHCTL_DATABASE_URL": f"sqlite:///{tmp / 'batchctl.db'}",
        "BATCHCTL_USER": "tester",
        "NO_COLOR": "1",
    }


# -- the parser and the mask -------------------------------------------------------------------------------


@settings(deadline=None)  # no timing: the machine is shared
@given(PASSWORDS)
def test_the_userinfo_ends_at_the_last_at_sign(password: str) -> None:
    for url in postgres_urls(password):
        assert mask_url(url) == url.split("://")[0] + "://u:***@127.0.0.1:1/x"
        parts = split_url(url)
        assert parts is not None and parts.rest == "127.0.0.1:1/x"
    encoded = postgres_urls(password)[0]
    assert password_of(encoded) == password
    # What the driver gets reads back as the same password and the same host, whatever the password holds.
    from urllib.parse import unquote, urlsplit

    for url in postgres_urls(password)[1:] + redis_urls(password):
        read = urlsplit(driver_url(url))
        assert read.hostname == "127.0.0.1" and read.port == 1
        assert unquote(read.password or "") == password_of(url)


@settings(deadline=None)  # no timing: the machine is shared
@given(PASSWORDS)
def test_mask_text_removes_every_spelling_from_any_text(password: str) -> None:
    url = postgres_urls(password)[1]
    text = f"x {password} y {quote(password, safe='')} z {url} {password!r}"
    masked = mask_text(text, url_secrets(url) | {password})
    for secret in spellings(url, password):
        assert secret not in masked


def test_a_url_without_a_password_is_left_alone() -> None:
    for url in ("sqlite:////tmp/a@b/batchctl.db", "redis://127.0.0.1:6379/0", "postgresql://app@db/batch"):
        assert mask_url(url) == url
        assert url_secrets(url) == set()
    assert mask_url("redis://h/0?password=s3cret&db=1") == "redis://h/0?password=***&db=1"


def test_a_nul_in_a_postgres_password_is_refused_without_printing_it() -> None:
    from batchctl.db import parse_url
    from batchctl.errors import BadInput

    with pytest.raises(BadInput) as refused:
        parse_url("postgresql://u:se\x00cret@127.0.0.1/x")
    assert "cret" not in str(refused.value) and "\\x00" not in str(refused.value)
    assert "u:***@127.0.0.1" in str(refused.value)


# -- errors and the debug traceback, for any password --------------------------------------------------------


_REFERENCES: dict[tuple[str, str, str, tuple[str, ...]], tuple[int, str, str]] = {}


def _reference(
    home: dict[str, str], variable: str, url: str, debug: str, args: tuple[str, ...]
) -> tuple[int, str, str]:
    """The output for the reference password (the same for every example: run once)."""
    key = (variable, url, debug, args)
    if key not in _REFERENCES:
        _REFERENCES[key] = run_main({**home, variable: url, "BATCHCTL_DEBUG": debug}, *args)
    return _REFERENCES[key]


def _independent_of_the_password(
    home: dict[str, str], variable: str, url: str, reference_url: str, password: str, *args: str
) -> None:
    for debug in ("0", "1"):
        code, out, err = run_main({**home, variable: url, "BATCHCTL_DEBUG": debug}, *args)
        _, ref_out, ref_err = _reference(home, variable, reference_url, debug, args)
        assert code == 5, err
        if debug == "1":
            assert "Traceback (most recent call last)" in err
        else:
            assert err.startswith("error: ") and err.count("\n") == 1, err
        for secret in spellings(url, password):
            assert secret not in out + err, (secret, err)
        # Nothing in the output depends on the password: not the whole of it, not a part.
        secrets = url_secrets(url)
        assert (out, err) == (mask_text(ref_out, secrets), mask_text(ref_err, secrets))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=PASSWORDS)
def test_no_database_error_shows_the_password(home: dict[str, str], password: str) -> None:
    for url, reference in zip(postgres_urls(password), postgres_urls(REFERENCE), strict=True):
        _independent_of_the_password(home, "BATCHCTL_DATABASE_URL", url, reference, password, "list")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=PASSWORDS)
def test_no_queue_error_shows_the_password(home: dict[str, str], password: str) -> None:
    for url, reference in zip(redis_urls(password), redis_urls(REFERENCE), strict=True):
        _independent_of_the_password(home, "BATCHCTL_REDIS_URL", url, reference, password, "worker", "--burst")


# -- the real command, against the real backends ------------------------------------------------------------

NASTY = "p@ss/w:rd#?%zz"


def test_the_error_line_of_a_real_process_has_no_password(tmp_path: Path) -> None:
    env = {**os.environ, "BATCHCTL_HOME": str(tmp_path), "NO_COLOR": "1"}
    for debug in ("0", "1"):
        for url in ("postgresql://u:p%40ss%2Fw@127.0.0.1:1/x", *postgres_urls(NASTY)):
            done = subprocess.run(
                [*BATCHCTL, "list"],
                env={**env, "BATCHCTL_DATABASE_URL": url, "BATCHCTL_DEBUG": debug},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 5, done.stderr
            assert "u:***@127.0.0.1:1/x" in done.stderr
            for secret in ("p@ss/w", "p%40ss%2Fw", "ss/w", NASTY, quote(NASTY, safe=""), "rd#?"):
                assert secret not in done.stdout + done.stderr, (url, done.stderr)
            if debug == "0":
                assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: database ")


def _redis_with_password(backend: Backend, password: str) -> str:
    from tests.conftest import REDIS_URL

    address = REDIS_URL.split("://", 1)[1]
    return f"redis://:{password}@{address}"


@pytest.mark.parametrize("spelling", ["raw", "encoded"])
def test_workers_and_create_warnings_show_no_redis_password(backend: Backend, spelling: str) -> None:
    password = NASTY if spelling == "raw" else quote(NASTY, safe="")
    url = _redis_with_password(backend, password)
    env = {"BATCHCTL_REDIS_URL": url}
    # A real worker on that queue (this Redis takes any password): it records where its queue is.
    burst = backend.burst(env=env)
    assert burst.code == 0, burst.stderr
    # A worker that records the URL raw (an older or a foreign batchctl) and says so in its queue error.
    from batchctl import presence
    from batchctl.db import utcnow

    with backend.database().transaction() as tx:
        presence.register(tx, "vm:1:leaky", host="vm", pid=1, concurrency=1, queue=url, now=utcnow())
        presence.beat(tx, "vm:1:leaky", now=utcnow(), queue_error=f"ConnectionError: no {url} ({NASTY})")
    for args in (("workers", "--all"), ("workers",), ("create", "--type", "noop")):
        done = backend.run(*args, env=env)
        assert done.code == 0, done.stderr
        for secret in (NASTY, quote(NASTY, safe=""), "ss/w", "p@ss"):
            assert secret not in done.stdout + done.stderr, (args, done.stdout, done.stderr)
        if args[0] == "workers":
            assert "redis://:***@" in done.stdout
    warned = backend.run("create", "--type", "noop", env=env)
    assert "warning: the queue is unavailable to every worker" in warned.stderr


def test_the_jwt_secret_and_a_remembered_webhook_secret_are_masked_in_any_text() -> None:
    from batchctl.masking import remember

    jwt = "j0" * 20
    remember("whsec_Xq81zzTopSecret")  # what `webhooks add --secret-stdin` does with the secret it reads
    with environment({"BATCHCTL_JWT_SECRET": jwt}):
        assert mask_text(f"a {jwt} b whsec_Xq81zzTopSecret c") == "a *** b *** c"
