"""Settings, URL masking and the parsers of user input: pure functions, no database, no network."""

from __future__ import annotations

import importlib
import os
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

# Imported first because importing batchctl.cli.jobs on its own is a circular import (see the test below).
import batchctl.cli.app  # noqa: F401
from batchctl.cli.jobs import parse_context
from batchctl.config import Settings, mask_url
from batchctl.db import parse_url
from batchctl.errors import BadInput
from batchctl.timeparse import parse_age, parse_moment

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


# -- mask_url --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://app:s3cret@db.example:5432/jobs", "postgresql+psycopg://app:***@db.example:5432/jobs"),
        ("postgresql://app:pa:ss@host/db", "postgresql://app:***@host/db"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://host/db?user=app&password=s3cret", "postgresql://host/db?user=app&password=***"),
        ("postgresql://host/db?password=s3cret&sslmode=require", "postgresql://host/db?password=***&sslmode=require"),
        ("postgresql://host/db?PWD=s3cret", "postgresql://host/db?PWD=***"),
        ("postgresql://host/db?pass=s3cret", "postgresql://host/db?pass=***"),
    ],
)
def test_mask_url_hides_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert "s3cret" not in mask_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app@host/db",
        "postgresql://host:5432/db",
        "redis://127.0.0.1:6379/0",
        "sqlite:////var/lib/batchctl/batchctl.db",
        "postgresql://host/db?user=app&sslmode=require",
    ],
)
def test_mask_url_leaves_urls_without_a_password_alone(url: str) -> None:
    assert mask_url(url) == url


# -- Settings.from_env -----------------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No BATCHCTL_* variable from the outer environment, and a home that never touches the real user dir."""
    for name in list(os.environ):
        if name.startswith("BATCHCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BATCHCTL_HOME", str(tmp_path / "home"))
    return monkeypatch


def test_settings_defaults_live_under_batchctl_home(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("BATCHCTL_USER", "alice")
    settings = Settings.from_env()
    home = tmp_path / "home"
    assert settings.data_dir == home
    assert settings.database_url == f"sqlite:///{home / 'batchctl.db'}"
    assert settings.files_dir == home / "files"
    assert settings.redis_url is None
    assert settings.user == "alice"
    assert settings.strategy_paths == (Path("strategies"),)
    assert settings.max_attempts is None
    assert settings.lease_seconds == 30.0


def test_settings_default_database_url_parses_to_the_home_file(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The default URL must round-trip through parse_url to the absolute file, not a relative one.
    assert parse_url(Settings.from_env().database_url) == ("sqlite", str(tmp_path / "home" / "batchctl.db"))


def test_settings_read_every_variable(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("BATCHCTL_DATABASE_URL", "postgresql+psycopg://u:p@h/db")
    clean_env.setenv("BATCHCTL_REDIS_URL", "redis://h:6379/1")
    clean_env.setenv("BATCHCTL_STRATEGIES", os.pathsep.join(["/a", "", "/b"]))
    clean_env.setenv("BATCHCTL_FILES", str(tmp_path / "files"))
    clean_env.setenv("BATCHCTL_LEASE_SECONDS", "2.5")
    clean_env.setenv("BATCHCTL_MAX_ATTEMPTS", "7")
    clean_env.setenv("BATCHCTL_QUEUE_NAME", "q1")
    settings = Settings.from_env()
    assert settings.database_url == "postgresql+psycopg://u:p@h/db"
    assert settings.redis_url == "redis://h:6379/1"
    # ./strategies always comes first so that the explicit paths override it; empty entries are skipped.
    assert settings.strategy_paths == (Path("strategies"), Path("/a"), Path("/b"))
    assert settings.files_dir == tmp_path / "files"
    assert settings.lease_seconds == 2.5
    assert settings.max_attempts == 7
    assert settings.queue_name == "q1"


def test_empty_redis_url_means_the_embedded_queue(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BATCHCTL_REDIS_URL", "")
    assert Settings.from_env().redis_url is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BATCHCTL_LEASE_SECONDS", "abc"),
        ("BATCHCTL_LEASE_SECONDS", "0"),
        ("BATCHCTL_LEASE_SECONDS", "-5"),
        ("BATCHCTL_POLL_INTERVAL", "fast"),
        ("BATCHCTL_RECONCILE_INTERVAL", "0"),
        ("BATCHCTL_RETRY_BASE_SECONDS", "1s"),
        ("BATCHCTL_MAX_ATTEMPTS", "0"),
        ("BATCHCTL_MAX_ATTEMPTS", "-1"),
        ("BATCHCTL_MAX_ATTEMPTS", "1.5"),
        ("BATCHCTL_MAX_ATTEMPTS", "many"),
    ],
)
def test_bad_numbers_are_refused_naming_the_variable(clean_env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(BadInput) as refused:
        Settings.from_env()
    assert variable in str(refused.value)
    assert repr(value) in str(refused.value)
    assert refused.value.exit_code == 2


# -- db.parse_url ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("sqlite:////var/lib/batchctl.db", ("sqlite", "/var/lib/batchctl.db")),
        ("sqlite:///relative/batchctl.db", ("sqlite", "relative/batchctl.db")),
        ("postgresql+psycopg://u:p@h:5432/db", ("postgresql", "postgresql://u:p@h:5432/db")),
        ("postgresql://u@h/db", ("postgresql", "postgresql://u@h/db")),
        ("postgres://h/db", ("postgresql", "postgresql://h/db")),
    ],
)
def test_parse_url_splits_dialect_and_target(url: str, parsed: tuple[str, str]) -> None:
    assert parse_url(url) == parsed


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_parse_url_refuses_an_unshareable_sqlite(url: str) -> None:
    with pytest.raises(BadInput, match="in-memory SQLite"):
        parse_url(url)


def test_parse_url_refuses_other_databases_with_the_password_masked() -> None:
    with pytest.raises(BadInput) as refused:
        parse_url("mysql://app:s3cret@host/db")
    message = str(refused.value)
    assert "mysql://app:***@host/db" in message
    assert "s3cret" not in message
    assert "sqlite:///PATH" in message


# -- timeparse -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("1.5h", timedelta(minutes=90)),
        (" 30d ", timedelta(days=30)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_age(text: str, age: timedelta) -> None:
    assert parse_age(text, option="--older-than") == age


@pytest.mark.parametrize("text", ["30", "d", "30y", "-5m", "", "1 d", "30D", "1e3s"])
def test_parse_age_refuses_what_is_not_an_age(text: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse_age(text, option="--older-than")
    assert str(refused.value).startswith("--older-than: ")
    assert repr(text) in str(refused.value)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-01-30", datetime(2026, 1, 30, tzinfo=UTC)),
        ("2026-01-30T08:15:00Z", datetime(2026, 1, 30, 8, 15, tzinfo=UTC)),
        ("2026-01-30T08:15:00", datetime(2026, 1, 30, 8, 15, tzinfo=UTC)),
        ("2026-01-30T10:15:00+02:00", datetime(2026, 1, 30, 8, 15, tzinfo=UTC)),
        ("12h", NOW - timedelta(hours=12)),
        ("90s", NOW - timedelta(seconds=90)),
    ],
)
def test_parse_moment(text: str, moment: datetime) -> None:
    parsed = parse_moment(text, option="--created-after", now=NOW)
    assert parsed == moment
    # Always aware: comparing it with the database's aware timestamps must not raise.
    assert parsed.tzinfo is not None


def test_parse_moment_keeps_an_explicit_offset() -> None:
    parsed = parse_moment("2026-01-30T10:15:00+02:00", option="--created-after", now=NOW)
    assert parsed.utcoffset() == timezone(timedelta(hours=2)).utcoffset(None)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "12 hours"])
def test_parse_moment_refuses_garbage_naming_the_option(text: str) -> None:
    with pytest.raises(BadInput) as refused:
        parse_moment(text, option="--created-before", now=NOW)
    assert str(refused.value).startswith("--created-before: ")


# -- cli.jobs.parse_context ------------------------------------------------------------------------------------


def test_context_from_json_text() -> None:
    assert parse_context('{"count": 3, "name": "x"}', None, []) == {"count": 3, "name": "x"}


def test_no_context_is_an_empty_object() -> None:
    assert parse_context(None, None, []) == {}


def test_context_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "context.json"
    file.write_text('{"file_key": "/tmp/products.csv"}', encoding="utf-8")
    assert parse_context(None, file, []) == {"file_key": "/tmp/products.csv"}


@pytest.mark.parametrize(
    ("pair", "value"),
    [
        ("count=5", 5),
        ("ratio=0.5", 0.5),
        ("flag=true", True),
        ("nothing=null", None),
        ('tags=["a","b"]', ["a", "b"]),
        ('filter={"status":"draft"}', {"status": "draft"}),
        ("name=hello", "hello"),
        ('name="5"', "5"),
        ("name=", ""),
        ("expr=a=b", "a=b"),
    ],
)
def test_set_pairs_take_json_values_else_strings(pair: str, value: object) -> None:
    key = pair.partition("=")[0]
    assert parse_context(None, None, [pair]) == {key: value}


def test_set_pairs_override_the_json_context() -> None:
    assert parse_context('{"count": 1, "keep": true}', None, ["count=2"]) == {"count": 2, "keep": True}


@pytest.mark.parametrize("pair", ["novalue", "=5"])
def test_set_pairs_need_a_key_and_an_equals_sign(pair: str) -> None:
    with pytest.raises(BadInput, match="expected key=value"):
        parse_context(None, None, [pair])


def test_context_and_context_file_together_are_refused(tmp_path: Path) -> None:
    file = tmp_path / "context.json"
    file.write_text("{}", encoding="utf-8")
    with pytest.raises(BadInput, match="not both"):
        parse_context("{}", file, [])


@pytest.mark.parametrize("text", ["[1, 2]", '"text"', "3", "null"])
def test_a_non_object_context_is_refused(text: str) -> None:
    with pytest.raises(BadInput, match="must be a JSON object"):
        parse_context(text, None, [])


def test_invalid_json_is_refused_with_its_position() -> None:
    with pytest.raises(BadInput) as refused:
        parse_context('{"count": }', None, [])
    assert str(refused.value).startswith("--context is not valid JSON: ")
    assert "line 1 column 11" in str(refused.value)


def test_a_non_object_context_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    file = tmp_path / "context.json"
    file.write_text("[]", encoding="utf-8")
    with pytest.raises(BadInput) as refused:
        parse_context(None, file, [])
    assert str(file) in str(refused.value)


def test_a_missing_context_file_is_bad_input(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(BadInput) as refused:
        parse_context(None, missing, [])
    assert str(refused.value).startswith(f"cannot read --context-file {missing}")


@pytest.mark.parametrize("module", ["batchctl.cli.jobs", "batchctl.cli.admin"])
def test_a_cli_module_imports_on_its_own(module: str) -> None:
    # cli.jobs imports cli.app, whose import-time _register() calls back into the half-imported cli.jobs;
    # it only works when cli.app happens to be imported first.
    import batchctl

    saved = {name: mod for name, mod in sys.modules.items() if name.startswith("batchctl.cli")}
    saved_attribute = batchctl.cli
    for name in saved:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    finally:
        for name in [n for n in sys.modules if n.startswith("batchctl.cli")]:
            del sys.modules[name]
        sys.modules.update(saved)
        # The re-import rebound the package attribute; point it back so later tests see the original modules.
        batchctl.cli = saved_attribute
