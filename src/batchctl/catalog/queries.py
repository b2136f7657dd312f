"""SQL shared by the catalog strategies: the export's product filter and get-or-create of lookup rows.

Lookup rows (collections, types, tags, regions) are created with ``INSERT … ON CONFLICT DO NOTHING``
(SQLite ≥ 3.24 and PostgreSQL both have it), so two imports creating the same tag do not collide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from batchctl.catalog.bulk import IN_BATCH
from batchctl.db import Tx

ALL = "1 = 1"  # the filter of an export without filters


def product_filter(tx: Tx, context: Mapping[str, Any], alias: str = "p") -> tuple[str, dict[str, Any]]:
    """The WHERE clause (never empty) selecting the products an export's context asks for."""
    clauses = [ALL]
    params: dict[str, Any] = {}
    if context.get("status"):
        placeholders, values = tx.in_list("status", list(context["status"]))
        clauses.append(f"{alias}.status IN ({placeholders})")
        params.update(values)
    if context.get("handles"):
        placeholders, values = tx.in_list("handle", list(context["handles"]))
        clauses.append(f"{alias}.handle IN ({placeholders})")
        params.update(values)
    if context.get("collections"):
        placeholders, values = tx.in_list("collection", list(context["collections"]))
        clauses.append(f"{alias}.collection_id IN (SELECT id FROM product_collection WHERE handle IN ({placeholders}))")
        params.update(values)
    if context.get("types"):
        placeholders, values = tx.in_list("type", list(context["types"]))
        clauses.append(f"{alias}.type_id IN (SELECT id FROM product_type WHERE value IN ({placeholders}))")
        params.update(values)
    if context.get("created_after"):
        clauses.append(f"{alias}.created_at >= :created_after")
        params["created_after"] = datetime.fromisoformat(context["created_after"])
    if context.get("created_before"):
        clauses.append(f"{alias}.created_at < :created_before")
        params["created_before"] = datetime.fromisoformat(context["created_before"])
    return " AND ".join(clauses), params


def select_in(tx: Tx, sql: str, column_values: Iterable[Any], **params: Any) -> list[dict[str, Any]]:
    """Run ``sql`` with ``{in}`` replaced by placeholders for ``column_values`` (no query when empty)."""
    values = list(dict.fromkeys(column_values))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(values), IN_BATCH):
        placeholders, in_params = tx.in_list("in_", values[start : start + IN_BATCH])
        rows += tx.execute(sql.replace("{in}", placeholders), {**in_params, **params}).all()
    return rows


def ensure_values(tx: Tx, table: str, values: Iterable[str]) -> dict[str, int]:
    """Ids of the ``value`` rows of a lookup table (product_type, product_tag), creating missing ones."""
    wanted = list(dict.fromkeys(values))
    sql = f"SELECT id, value FROM {table} WHERE value IN ({{in}})"
    found = {row["value"]: int(row["id"]) for row in select_in(tx, sql, wanted)}
    missing = [value for value in wanted if value not in found]
    if missing:
        tx.executemany(
            f"INSERT INTO {table} (value) VALUES (:value) ON CONFLICT (value) DO NOTHING",
            [{"value": value} for value in missing],
        )
        found.update({row["value"]: int(row["id"]) for row in select_in(tx, sql, missing)})
    return found


def ensure_collections(tx: Tx, collections: Iterable[tuple[str, str | None]]) -> dict[str, int]:
    """Ids of collections by handle, creating missing ones; a given title replaces the stored one."""
    titles: dict[str, str | None] = {}
    for handle, title in collections:
        if title is not None or handle not in titles:
            titles[handle] = title
    if not titles:
        return {}
    tx.executemany(
        "INSERT INTO product_collection (handle, title) VALUES (:handle, :title) ON CONFLICT (handle) DO NOTHING",
        [{"handle": handle, "title": title or handle} for handle, title in titles.items()],
    )
    retitled = [{"handle": handle, "title": title} for handle, title in titles.items() if title is not None]
    if retitled:
        tx.executemany(
            "UPDATE product_collection SET title = :title WHERE handle = :handle AND title <> :title", retitled
        )
    rows = select_in(tx, "SELECT id, handle FROM product_collection WHERE handle IN ({in})", titles)
    return {row["handle"]: int(row["id"]) for row in rows}


def ensure_regions(tx: Tx, regions: Mapping[str, str]) -> dict[str, int]:
    """Ids of regions by name (``regions`` maps name to currency), creating missing ones."""
    if not regions:
        return {}
    tx.executemany(
        "INSERT INTO region (name, currency_code) VALUES (:name, :currency) ON CONFLICT (name) DO NOTHING",
        [{"name": name, "currency": currency} for name, currency in regions.items()],
    )
    rows = select_in(tx, "SELECT id, name FROM region WHERE name IN ({in})", regions)
    return {row["name"]: int(row["id"]) for row in rows}


def slugify(text: str) -> str:
    """A handle made from a title: lower case, words joined by ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "collection"
