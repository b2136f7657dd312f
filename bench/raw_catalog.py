"""The raw baselines of the catalog figures, run in their own process as the worker runs its jobs.

    python bench/raw_catalog.py export DATABASE_URL OUT.csv
    python bench/raw_catalog.py import DATABASE_URL IN.csv

- export: one ``SELECT`` of the export's columns (correlated subqueries for prices, options, images and
  tags), ``fetchmany()`` into ``csv.writer``: no job, no formula guard, no formatting.
- import: ``csv.reader`` over a batchctl export, ``executemany()`` of the same rows in one transaction:
  no checks, no lookups of existing products.

Each prints one JSON line: ``{"seconds": ..., "peak_mb": ...}`` (the work only, not the process start-up,
as batchctl's side is timed by its job's own timestamps in an already running worker).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from operator import itemgetter
from pathlib import Path
from typing import Any

from procfs import peak_rss_mb

BATCH = 2000  # rows per fetchmany() and per executemany() flush
NOW = "2026-01-01 00:00:00"


def connect(url: str) -> tuple[Any, str]:
    """A DB-API connection (autocommit on SQLite, so that BEGIN/COMMIT are ours) and its parameter mark."""
    if url.startswith("sqlite:///"):
        import sqlite3

        return sqlite3.connect(url[len("sqlite:///") :], isolation_level=None), "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


def export_sql(dialect: str) -> str:
    """The export's columns in one SELECT, one row per variant, in batchctl's order."""

    def nth(table: str, column: str, owner: str, index: int) -> str:
        return (
            f"(SELECT {column} FROM {table} x WHERE x.product_id = {owner} ORDER BY x.position, x.id "
            f"LIMIT 1 OFFSET {index})"
        )

    tags = (
        "(SELECT string_agg(g.value, ',' ORDER BY l.position) FROM product_tags l "
        "JOIN product_tag g ON g.id = l.tag_id WHERE l.product_id = p.id)"
        if dialect == "postgresql"
        else "(SELECT group_concat(value, ',') FROM (SELECT g.value FROM product_tags l JOIN product_tag g "
        "ON g.id = l.tag_id WHERE l.product_id = p.id ORDER BY l.position))"
    )
    price = "(SELECT m.amount FROM money_amount m WHERE m.variant_id = v.id AND {cond} LIMIT 1)"
    columns = [
        "p.id, p.handle, p.title, p.subtitle, p.description, p.status, p.thumbnail, p.weight, p.length, p.width",
        "p.height, p.hs_code, p.origin_country, p.mid_code, p.material, c.title, c.handle, t.value",
        tags,
        "p.discountable, p.external_id, v.id, v.title, v.sku, v.barcode, v.inventory_quantity, v.allow_backorder",
        "v.manage_inventory, v.weight, v.length, v.width, v.height, v.hs_code, v.origin_country, v.mid_code",
        "v.material",
        price.format(cond="COALESCE(m.region_id, 0) = 0 AND m.currency_code = 'eur'"),
        price.format(cond="COALESCE(m.region_id, 0) = 0 AND m.currency_code = 'usd'"),
        price.format(cond="COALESCE(m.region_id, 0) = (SELECT id FROM region WHERE name = 'Europe')"),
    ]
    for index in range(2):
        columns.append(nth("product_option", "x.title", "p.id", index))
        columns.append(
            "(SELECT ov.value FROM product_option_value ov WHERE ov.variant_id = v.id AND ov.option_id = "
            f"{nth('product_option', 'x.id', 'p.id', index)})"
        )
    columns += [nth("product_image", "x.url", "p.id", index) for index in range(3)]
    return (
        f"SELECT {', '.join(columns)} FROM product_variant v JOIN product p ON p.id = v.product_id "
        "LEFT JOIN product_collection c ON c.id = p.collection_id LEFT JOIN product_type t ON t.id = p.type_id "
        "ORDER BY p.id, v.variant_rank, v.id"
    )


def raw_export(url: str, out: Path) -> float:
    """Seconds to stream the export's SELECT into ``out``."""
    connection, _ = connect(url)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    started = time.perf_counter()
    cursor = connection.cursor()
    if dialect == "postgresql":
        cursor.execute("SET jit = off")  # as batchctl does: compiling costs more than the query
    cursor.execute(export_sql(dialect))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        while rows := cursor.fetchmany(BATCH):
            writer.writerows(rows)
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


TABLES = {
    "product": "id, handle, title, subtitle, description, status, thumbnail, weight, discountable, external_id, "
    "collection_id, type_id, created_at, updated_at",
    "product_variant": "id, product_id, title, sku, barcode, inventory_quantity, allow_backorder, manage_inventory, "
    "weight, variant_rank, created_at",
    "product_option": "id, product_id, title, position",
    "product_option_value": "variant_id, option_id, value",
    "money_amount": "variant_id, currency_code, region_id, amount",
    "product_image": "product_id, url, position",
    "product_tags": "product_id, tag_id, position",
}
PRODUCT_CELLS = (
    "Product Id", "Product Handle", "Product Title", "Product Subtitle", "Product Description", "Product Status",
    "Product Thumbnail", "Product Weight", "Product Discountable", "Product External Id",
    "Product Collection Handle", "Product Collection Title", "Product Type", "Product Tags",
    "Image 1 Url", "Image 2 Url", "Image 3 Url", "Option 1 Name", "Option 2 Name",
)  # fmt: skip
VARIANT_CELLS = (
    "Product Id", "Variant Id", "Variant Title", "Variant SKU", "Variant Barcode", "Variant Inventory Quantity",
    "Variant Allow Backorder", "Variant Manage Inventory", "Variant Weight",
    "Option 1 Name", "Option 1 Value", "Option 2 Name", "Option 2 Value",
    "Price EUR", "Price USD", "Price Europe [EUR]",
)  # fmt: skip


class RawImport:
    """The lines of a batchctl export turned into INSERTs, buffered per table: what an import must write."""

    def __init__(self, cursor: Any, mark: str, header: list[str]) -> None:
        self.cursor = cursor
        self.mark = mark
        at = {name: i for i, name in enumerate(header)}
        # The cells by position, looked up once: the baseline pays no per-cell name lookup.
        self.product_cells = itemgetter(*(at[name] for name in PRODUCT_CELLS))
        self.variant_cells = itemgetter(*(at[name] for name in VARIANT_CELLS))
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
        self.ids: dict[str, dict[str, int]] = {"product_collection": {}, "product_type": {}, "product_tag": {}}
        self.options: dict[str, dict[str, int]] = {}  # product id → option title → option id
        self.last_option = 0
        self.region = self._insert_returning_id("region", "name, currency_code", ("Europe", "eur"))

    def _insert_returning_id(self, table: str, columns: str, values: tuple[Any, ...]) -> int:
        marks = ", ".join([self.mark] * len(values))
        self.cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
        self.cursor.execute(f"SELECT max(id) FROM {table}")
        return int(self.cursor.fetchone()[0])

    def _id(self, table: str, key: str, columns: str, values: tuple[Any, ...]) -> int:
        known = self.ids[table]
        if key not in known:
            known[key] = self._insert_returning_id(table, columns, values)
        return known[key]

    def add(self, line: list[str], number: int) -> None:
        """One CSV line: its product (the first time it is seen), its variant, option values and prices."""
        (product, variant, title, sku, barcode, quantity, backorder, manage, weight,
         name1, value1, name2, value2, eur, usd, europe) = self.variant_cells(line)  # fmt: skip
        if product not in self.options:
            self._product(line)
        self.rows["product_variant"].append(
            (variant, product, title, sku or None, barcode or None, int(quantity or 0), backorder == "true",
             manage == "true", int(weight) if weight else None, number, NOW)
        )  # fmt: skip
        options = self.options[product]
        values = self.rows["product_option_value"]
        values.append((variant, options[name1], value1))
        values.append((variant, options[name2], value2))
        prices = self.rows["money_amount"]
        for cell, currency, region in ((eur, "eur", None), (usd, "usd", None), (europe, "eur", self.region)):
            if cell:
                prices.append((variant, currency, region, round(float(cell) * 100)))
        if len(self.rows["product_variant"]) >= BATCH:
            self.flush()

    def _product(self, line: list[str]) -> None:
        (product, handle, title, subtitle, description, status, thumbnail, weight, discountable, external_id,
         collection_handle, collection_title, kind, tags, image1, image2, image3,
         option1, option2) = self.product_cells(line)  # fmt: skip
        collection = (
            self._id("product_collection", collection_handle, "handle, title", (collection_handle, collection_title))
            if collection_handle
            else None
        )
        type_id = self._id("product_type", kind, "value", (kind,))
        self.rows["product"].append(
            (product, handle, title, subtitle or None, description or None, status, thumbnail or None,
             int(weight or 0), discountable == "true", external_id or None, collection, type_id, NOW, NOW)
        )  # fmt: skip
        for position, tag in enumerate(t for t in tags.split(",") if t):
            self.rows["product_tags"].append((product, self._id("product_tag", tag, "value", (tag,)), position))
        for position, url in enumerate((image1, image2, image3)):
            if url:
                self.rows["product_image"].append((product, url, position))
        self.options[product] = {}
        for position, option in enumerate((option1, option2)):
            self.last_option += 1
            self.rows["product_option"].append((self.last_option, product, option, position))
            self.options[product][option] = self.last_option

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                marks = ", ".join([self.mark] * (TABLES[table].count(",") + 1))
                self.cursor.executemany(f"INSERT INTO {table} ({TABLES[table]}) VALUES ({marks})", rows)
                rows.clear()


def raw_import(url: str, source: Path) -> float:
    """Seconds to read ``source`` and insert its rows in one transaction."""
    connection, mark = connect(url)
    started = time.perf_counter()
    cursor = connection.cursor()
    if mark == "?":
        cursor.execute("BEGIN")
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=";")
        writer = RawImport(cursor, mark, next(reader))
        for number, line in enumerate(reader):
            writer.add(line, number)
    writer.flush()
    if mark == "?":
        cursor.execute("COMMIT")
    else:
        connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    return seconds


MODES: dict[str, Callable[[str, Path], float]] = {"export": raw_export, "import": raw_import}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in MODES:
        print("usage: raw_catalog.py export|import DATABASE_URL FILE", file=sys.stderr)
        return 2
    seconds = MODES[argv[0]](argv[1], Path(argv[2]))
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
