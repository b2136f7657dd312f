"""What ``storable.check_json`` accepts, both databases store and give back as it was (hypothesis, both backends).

tests/unit/test_storable.py checks that the checker refuses exactly the unstorable values; this one
writes the accepted ones as the job rows' JSON columns are written (``Tx.execute`` with a dict) and reads
them back. Numbers compare as numbers: jsonb keeps them as decimals, so ``1e300`` comes back as an int.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchctl.db import Database
from batchctl.errors import Unstorable
from batchctl.storable import check_json
from tests.conftest import Backend
from tests.unit.test_storable import VALUES


def same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return float(left) == float(right) or math.isclose(float(left), float(right), rel_tol=1e-15, abs_tol=0)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    return bool(left == right)


def test_accepted_values_round_trip_through_the_database(backend: Backend) -> None:
    db = Database(backend.env["BATCHCTL_DATABASE_URL"])
    column = "JSONB" if db.dialect == "postgresql" else "JSON"
    with db.transaction() as tx:
        tx.execute(f"CREATE TABLE storable_probe (id INTEGER PRIMARY KEY, data {column} NOT NULL)")
    written = {"accepted": 0}

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(VALUES, st.integers(min_value=0, max_value=2**31 - 1))
    def round_trip(value: Any, key: int) -> None:
        data = {"v": value}
        try:
            check_json(data, "result")
        except Unstorable:
            return
        with db.transaction() as tx:
            tx.execute("DELETE FROM storable_probe WHERE id = :id", {"id": key})
            tx.execute("INSERT INTO storable_probe (id, data) VALUES (:id, :data)", {"id": key, "data": data})
            back = tx.execute("SELECT data FROM storable_probe WHERE id = :id", {"id": key}).scalar()
        if isinstance(back, str):  # SQLite gives JSON back as text
            back = json.loads(back)
        assert same(back, data), (data, back)
        written["accepted"] += 1

    try:
        round_trip()
    finally:
        db.discard_connection()
    assert written["accepted"] > 0
