"""Bulk reads and writes of plain rows straight to the driver, for the import's and export's hot paths.

``Tx.executemany`` adapts every value in Python (datetimes for SQLite, JSON for PostgreSQL) and takes
one dict per row, and ``Tx.execute(...).all()`` makes a dict of every row: for an import or export
that is millions of calls, 30-40 % of its time. The rows written here hold only str, int, bool and
None (timestamps are formatted once with ``timestamp()``) and the rows read are used by position, so
they go to and come from the DB-API cursor as tuples, on the same connection and in the same
transaction.

This reaches into ``Tx``'s connection (``tx._raw``); public ``Tx`` methods for tuples would be the
better home.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from batchctl.db import Tx, _sqlite_datetime

IN_BATCH = 500  # values per IN list: SQLite before 3.32 allows 999 parameters in a statement
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # the :name parameters of batchctl's SQL, as in db.py


def timestamp(tx: Tx, moment: datetime) -> Any:
    """``moment`` as the driver takes it for a timestamp column (SQLite stores text)."""
    return _sqlite_datetime(moment) if tx.dialect == "sqlite" else moment


def _mark(tx: Tx) -> str:
    return "?" if tx.dialect == "sqlite" else "%s"


def insert_many(tx: Tx, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table``."""
    if not rows:
        return
    if tx.dialect == "postgresql":
        # COPY: several times faster than executemany's one INSERT per row, in the same transaction.
        with tx._raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join(["?"] * len(columns))
    tx._raw.cursor().executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def update_many(tx: Tx, table: str, assignments: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE ``table`` by id; ``assignments`` like ``"title = COALESCE({}, title)"``, ``{}`` for each value.

    Each row holds the assignments' values in order, then the id.
    """
    if not rows:
        return
    sets = ", ".join(assignment.replace("{}", _mark(tx)) for assignment in assignments)
    tx._raw.cursor().executemany(f"UPDATE {table} SET {sets} WHERE id = {_mark(tx)}", rows)


def select_rows(tx: Tx, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a SELECT written with ``:name`` parameters, as tuples."""
    adapted = tx._adapt(params)  # datetimes as SQLite stores them
    names: list[str] = []

    def positional(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return _mark(tx)

    converted = _NAMED.sub(positional, sql)
    return _tuples(tx, converted, [adapted[name] for name in names])


def lookup(tx: Tx, sql: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows (tuples) of ``sql``, whose ``IN ({in})`` stands for ``values`` (no query when empty)."""
    if not values:
        return []
    if tx.dialect == "sqlite":
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), IN_BATCH):  # SQLite before 3.32 allows 999 parameters
            batch = values[start : start + IN_BATCH]
            rows += _tuples(tx, sql.replace("{in}", ", ".join(["?"] * len(batch))), batch)
        return rows
    # One array parameter: PostgreSQL hashes it, where it compares thousands of separate parameters one
    # by one with every row.
    return _tuples(tx, sql.replace(" IN ({in})", " = ANY(%s)"), [list(values)])


def _tuples(tx: Tx, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    if tx.dialect == "sqlite":
        cursor = tx._raw.cursor()
        cursor.row_factory = None  # the connection's sqlite3.Row would cost a conversion per row
        cursor.execute(sql, params)
    else:
        from psycopg.rows import tuple_row

        cursor = tx._raw.cursor(row_factory=tuple_row)  # the connection's default makes dicts
        # Never prepared: a generic plan does not see the values, and chooses badly for long lists of them.
        cursor.execute(sql, params, prepare=False)
    rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


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
