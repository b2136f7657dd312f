"""Migrations: idempotent upgrades, self-upgrade of the embedded default, models and migrations in step."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import batchctl.models  # noqa: F401  (registers the tables)
from batchctl.migrations.runner import alembic_config, sqlalchemy_url
from batchctl.schema import HEAD_REVISION, identify, known_revisions
from tests.conftest import Backend


def test_head_revision_constant_is_alembic_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert script.get_heads() == [HEAD_REVISION]


def test_models_and_migrations_agree(backend: Backend) -> None:
    # Touch the database through the CLI first so the embedded default has migrated itself.
    assert backend.cli("list", "--json").code == 0
    engine = create_engine(sqlalchemy_url(backend.env["BATCHCTL_DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_db_upgrade_is_idempotent(backend: Backend) -> None:
    first = backend.cli("db", "upgrade")
    second = backend.cli("db", "upgrade")
    assert first.code == 0 and second.code == 0, (first.stderr, second.stderr)
    assert "already up to date" in second.stdout
    assert identify(backend.database()).revision == HEAD_REVISION


def test_the_embedded_default_is_made_by_the_first_command_that_creates(
    tmp_path: Path, env_for: Callable[[Path], dict[str, str]]
) -> None:
    env = env_for(tmp_path)
    backend = Backend("sqlite-default", env, tmp_path)
    assert "BATCHCTL_DATABASE_URL" not in env
    # A read makes nothing (a mistyped path must not look like an empty job list), not even the folder.
    listed = backend.cli("list", "--json", env={"BATCHCTL_DATABASE_URL": ""})
    assert listed.code == 5, listed.stderr
    assert "no batchctl database at" in listed.stderr and "the default location" in listed.stderr
    assert not (tmp_path / "home").exists()
    created = backend.cli("create", "--type", "noop", "-q", env={"BATCHCTL_DATABASE_URL": ""})
    assert created.code == 0, created.stderr
    assert (tmp_path / "home" / "batchctl.db").exists()
    listed = backend.cli("list", "--json", env={"BATCHCTL_DATABASE_URL": ""})
    assert listed.code == 0, listed.stderr
    assert [job["id"] for job in listed.json()["batch_jobs"]] == [created.stdout.strip()]


def test_the_revisions_identify_knows_are_alembics() -> None:
    # schema.known_revisions reads the migration files' names so that identifying a database needs no Alembic.
    script = ScriptDirectory.from_config(alembic_config("sqlite:///unused.db"))
    assert sorted(revision.revision for revision in script.walk_revisions()) == sorted(known_revisions())


def test_a_server_database_without_the_schema_is_refused_with_exit_5(
    tmp_path: Path,
    env_for: Callable[[Path], dict[str, str]],
    pg_database: Callable[[str | None], AbstractContextManager[str]],
) -> None:
    with pg_database(None) as url:
        backend = Backend("postgres-empty", {**env_for(tmp_path), "BATCHCTL_DATABASE_URL": url}, tmp_path)
        refused = backend.cli("list")
        assert refused.code == 5
        assert "run `batchctl db upgrade`" in refused.stderr
        assert refused.stderr.count("\n") == 1
        upgraded = backend.cli("db", "upgrade")
        assert upgraded.code == 0, upgraded.stderr
        assert backend.cli("list", "--json").json()["count"] == 0


@pytest.mark.parametrize("command", ["show", "list", "wait", "confirm", "cancel", "events"])
def test_quick_commands_do_not_import_the_worker_stack(backend: Backend, command: str) -> None:
    job_id = backend.cli("create", "--type", "noop", "--dry-run", "-q").stdout.strip()
    args = {
        "show": ["show", job_id, "--json"],
        "list": ["list", "--json"],
        "wait": ["wait", job_id, "--timeout", "0"],
        "confirm": ["confirm", job_id],
        "cancel": ["cancel", job_id],
        "events": ["events", job_id, "--json"],
    }[command]
    ran = backend.run(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    imported = {line.split("|")[-1].strip() for line in ran.stderr.splitlines() if line.startswith("import time:")}
    assert "batchctl.service" in imported  # the profile really was taken
    heavy = {"huey", "redis", "rich.live", "rich.progress", "sqlalchemy", "sqlmodel", "alembic"}
    assert heavy & imported == set(), sorted(heavy & imported)
