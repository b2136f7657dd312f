"""Bulk reads and writes of plain rows straight to the driver, for the import's and export's hot paths.

``Tx.executemany`` adapts every value in Python (datetimes for SQLite, JSON for PostgreSQL) and takes
one dict per row, and ``Tx.execute(...).all()`` makes a dict of every row: for an import or export
that is millions of calls, 30-40 % of its time. The rows written here hold only str, int, bool and
None (timestamps are formatted once with ``Tx.timestamp()``) and the rows read are used by position, so
they go to and come from the DB-API cursor as tuples (``Tx.copy_rows``, ``Tx.executemany_positional``,
``Tx.select_tuples``), on the same connection and in the same transaction.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from batchctl.db import Tx

IN_BATCH = 500  # values per IN list: SQLite before 3.32 allows 999 parameters in a statement


def insert_many(tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table``."""
    if rows:
        tx.copy_rows(table, columns, rows)


def update_many(tx: Tx, table: str, assignments: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE ``table`` by id; ``assignments`` like ``"title = COALESCE({}, title)"``, ``{}`` for each value.

    Each row holds the assignments' values in order, then the id.
    """
    if not rows:
        return
    sets = ", ".join(assignment.replace("{}", tx.mark) for assignment in assignments)
    tx.executemany_positional(f"UPDATE {table} SET {sets} WHERE id = {tx.mark}", rows)


def select_rows(tx: Tx, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a SELECT written with ``:name`` parameters, as tuples."""
    return tx.select_tuples(*tx.positional(sql, params))


def lookup(tx: Tx, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows (tuples) of ``sql``, whose ``IN ({in})`` stands for ``values`` (no query when empty)."""
    if not values:
        return []
    if tx.dialect == "sqlite":
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), IN_BATCH):  # SQLite before 3.32 allows 999 parameters
            batch = values[start : start + IN_BATCH]
            rows += tx.select_tuples(sql.replace("{in}", ", ".join(["?"] * len(batch))), batch)
        return rows
    # One array parameter: PostgreSQL hashes it, where it compares thousands of separate parameters one
    # by one with every row.
    return tx.select_tuples(sql.replace(" IN ({in})", " = ANY(%s)"), [list(values)])


def no_jit(tx: Tx) -> None:
    """Turn PostgreSQL's JIT off for this transaction (nothing on SQLite).

    A freshly loaded catalog has no statistics, so PostgreSQL overestimates the export's correlated
    subqueries and JIT-compiles each chunk's query: a quarter of a second of compiling for milliseconds
    of work, in every chunk.
    """
    if tx.dialect == "postgresql":
        tx.execute("SET LOCAL jit = off")


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a chunk is read and written.

    A chunk makes tens of thousands of short-lived containers, which trigger collections that walk
    every object of the process: a fifth of an import's time, for no garbage (the chunk's objects go
    by reference counting). Collection resumes, and catches up, between chunks.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
