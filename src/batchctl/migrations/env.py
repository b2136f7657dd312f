"""Alembic environment: runs the shipped migrations against the configured URL."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine, create_engine, event, pool
from sqlmodel import SQLModel

import batchctl.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from batchctl.db import SQLITE_LOCK_SECONDS

target_metadata = SQLModel.metadata


def _transactional_sqlite(engine: Engine) -> None:
    """Run the whole upgrade in one SQLite transaction, DDL included.

    Python's sqlite3 begins transactions only before INSERT/UPDATE/DELETE, so each CREATE TABLE committed on
    its own: an upgrade that failed half-way (a full disk) left tables without their revision, and every
    later upgrade failed with "table ... already exists". SQLite's DDL is transactional; SQLAlchemy's recipe
    hands BEGIN to us.
    """

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def run_migrations_online() -> None:
    """Run migrations with a real connection (the only mode batchctl uses)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    # pysqlite waits 5 s for a lock by default; the upgrade is one write transaction that other processes
    # (fifty first `create`s at once) read around, so it waits as long as every other connection does.
    connect_args = {"timeout": SQLITE_LOCK_SECONDS} if url.startswith("sqlite") else {}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        _transactional_sqlite(engine)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
