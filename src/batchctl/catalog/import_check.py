"""The import's preview: every row checked and classified (create or update), nothing written to the catalog.

What a row needs to know about earlier rows (its product's first row, SKUs and ids already used) is
kept in a throw-away SQLite file rather than in memory, so that checking a file of any size takes the
same memory; what it needs from the catalog is read per chunk of rows.
"""

from __future__ import annotations

import json
import marshal
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchctl.catalog.bulk import IN_BATCH, lookup
from batchctl.catalog.columns import Header, Problem
from batchctl.catalog.queries import select_in
from batchctl.catalog.rows import ParsedRow
from batchctl.db import Tx

MAX_ERRORS = 1000  # errors kept in the result; the rest are counted


@dataclass
class StagedProduct:
    """What the first row of a product decided: its id (None: a new one), create or update, and any problem."""

    first_row: int
    cells: tuple[str, ...]
    resolved: str | None
    action: str
    problem: Problem | None = None
    counted: bool = False


@dataclass
class Summary:
    """The preview: counts, the errors kept, and what else the import will create."""

    rows: int = 0
    bad_rows: int = 0
    products: dict[str, int] = field(default_factory=lambda: {"create": 0, "update": 0})
    variants: dict[str, int] = field(default_factory=lambda: {"create": 0, "update": 0})
    header_errors: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    regions_to_create: list[str] = field(default_factory=list)

    def add_error(self, row: int, problem: Problem) -> None:
        """Count an error; keep the first MAX_ERRORS of them."""
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            entry: dict[str, Any] = {"row": row, "code": problem.code, "message": problem.message}
            if problem.column:
                entry["column"] = problem.column
            self.errors.append(entry)


class Staging:
    """An on-disk memory of the rows seen so far: products by handle, product ids, SKUs and variant ids."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="batchctl-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "staging.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE product (handle TEXT PRIMARY KEY, first_row INT, cells BLOB, resolved TEXT, action TEXT, "
            "problem TEXT, counted INT)"
        )
        for table in ("product_id", "sku", "variant_id"):
            self._db.execute(f"CREATE TABLE {table} (key TEXT PRIMARY KEY, row INT, owner TEXT)")

    def close(self) -> None:
        """Drop the staging file."""
        self._db.close()
        self._dir.cleanup()

    def products(self, handles: set[str]) -> dict[str, StagedProduct]:
        """The products already seen among ``handles``."""
        found: dict[str, StagedProduct] = {}
        for handle, first_row, cells, resolved, action, problem, counted in self._select("product", "handle", handles):
            found[handle] = StagedProduct(
                first_row,
                marshal.loads(cells),
                resolved,
                action,
                Problem(*json.loads(problem)) if problem else None,
                bool(counted),
            )
        return found

    def keys(self, table: str, keys: set[str]) -> dict[str, tuple[int, str]]:
        """(row, owner) of the ``keys`` already seen in ``table``."""
        return {key: (row, owner) for key, row, owner in self._select(table, "key", keys)}

    def _select(self, table: str, column: str, keys: set[str]) -> list[tuple[Any, ...]]:
        values = list(keys)
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(values), IN_BATCH):  # SQLite before 3.32 allows 999 parameters
            batch = values[start : start + IN_BATCH]
            marks = ",".join("?" * len(batch))
            rows += self._db.execute(f"SELECT * FROM {table} WHERE {column} IN ({marks})", batch).fetchall()
        return rows

    def save(self, products: dict[str, StagedProduct], keyed: dict[str, dict[str, tuple[int, str]]]) -> None:
        """Write what this chunk added or changed."""
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO product VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    handle,
                    p.first_row,
                    marshal.dumps(p.cells),
                    p.resolved,
                    p.action,
                    json.dumps([p.problem.column, p.problem.code, p.problem.message]) if p.problem else None,
                    int(p.counted),
                )
                for handle, p in products.items()
            ],
        )
        for table, entries in keyed.items():
            self._db.executemany(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)",
                [(key, row, owner) for key, (row, owner) in entries.items()],
            )
        self._db.execute("COMMIT")


class ImportChecker:
    """Checks a file's header, then its rows chunk by chunk, into a Summary."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.summary = Summary()
        self.staging = Staging()
        self.bad_rows: list[int] = []  # of the current chunk; the strategy drains it

    def check_header(self, tx: Tx) -> None:
        """Header problems, and the regions its price columns name: missing ones will be created."""
        currencies: dict[str, str] = {}
        for price in self.header.prices:
            if price.region is None:
                continue
            name = self.header.names[price.index]
            if currencies.setdefault(price.region, price.currency) != price.currency:
                self.header.problems.append(
                    Problem(name, "region_currency", f"{name}: region {price.region!r} is priced in two currencies")
                )
        stored = {
            row["name"]: row["currency_code"]
            for row in select_in(tx, "SELECT name, currency_code FROM region WHERE name IN ({in})", currencies)
        }
        for region, currency in currencies.items():
            if region not in stored:
                self.summary.regions_to_create.append(region)
            elif stored[region].lower() != currency:
                self.header.problems.append(
                    Problem(
                        f"Price {region} [{currency.upper()}]",
                        "region_currency",
                        f"region {region!r} is priced in {stored[region].upper()}, not {currency.upper()}",
                    )
                )
        for problem in self.header.problems:
            self.summary.add_error(1, problem)
        self.summary.header_errors = len(self.header.problems)

    def check_rows(self, tx: Tx, rows: list[ParsedRow]) -> None:
        """Check and classify one chunk of rows, in order."""
        chunk = _ChunkState(self, tx, rows)
        for parsed in rows:
            chunk.check(parsed)
        self.staging.save(chunk.new_products, chunk.new_keys)

    def close(self) -> None:
        """Drop the staging data."""
        self.staging.close()


class _ChunkState:
    """What one chunk's rows see: the staging data and the catalog rows they name, plus this chunk's own rows."""

    def __init__(self, checker: ImportChecker, tx: Tx, rows: list[ParsedRow]) -> None:
        self.checker = checker
        self.summary = checker.summary
        staging = checker.staging
        handles = {p.handle for p in rows if p.handle}
        pids = {p.product_id for p in rows if p.product_id}
        vids = {p.variant_id for p in rows if p.variant_id}
        skus = {sku for p in rows if (sku := p.variant.get("sku"))}
        self.products = staging.products(handles)
        self.keys = {
            "product_id": staging.keys("product_id", pids),
            "sku": staging.keys("sku", skus),
            "variant_id": staging.keys("variant_id", vids),
        }
        self.new_products: dict[str, StagedProduct] = {}
        self.new_keys: dict[str, dict[str, tuple[int, str]]] = {"product_id": {}, "sku": {}, "variant_id": {}}
        self.db_ids = dict(lookup(tx, "SELECT id, handle FROM product WHERE id IN ({in})", list(pids)))
        self.db_handles = {
            handle: pid
            for pid, handle in lookup(tx, "SELECT id, handle FROM product WHERE handle IN ({in})", list(handles))
        }
        self.db_variants = dict(lookup(tx, "SELECT id, product_id FROM product_variant WHERE id IN ({in})", list(vids)))
        self.db_skus = {
            sku: (vid, pid)
            for vid, pid, sku in lookup(
                tx, "SELECT id, product_id, sku FROM product_variant WHERE sku IN ({in})", list(skus)
            )
        }

    def _remember(self, table: str, key: str, row: int, owner: str) -> None:
        self.keys[table][key] = (row, owner)
        self.new_keys[table][key] = (row, owner)

    def check(self, parsed: ParsedRow) -> None:
        """Check one row; count it as good (create/update) or bad (with its errors)."""
        self.summary.rows += 1
        problems = list(parsed.problems)
        product = self._product(parsed, problems) if parsed.handle is not None else None
        variant: tuple[str, str | None] | None = None
        if product is not None and parsed.has_variant:
            variant = self._variant(parsed, product, problems)
        if problems:
            self.summary.bad_rows += 1
            self.checker.bad_rows.append(parsed.row)
            for problem in problems:
                self.summary.add_error(parsed.row, problem)
            return
        assert product is not None
        parsed.first = not product.counted
        if parsed.first:
            product.counted = True
            self.summary.products[product.action] += 1
            self.new_products[parsed.handle or ""] = product
        if variant is not None:
            action, vid = variant
            self.summary.variants[action] += 1
            sku = parsed.variant.get("sku")
            if sku:
                self._remember("sku", sku, parsed.row, vid or "")
            if vid:
                self._remember("variant_id", vid, parsed.row, vid)

    def _product(self, parsed: ParsedRow, problems: list[Problem]) -> StagedProduct:
        handle = parsed.handle
        assert handle is not None
        staged = self.products.get(handle)
        if staged is not None:
            if staged.cells != parsed.product_cells:
                column = self._first_difference(staged.cells, parsed.product_cells)
                problems.append(
                    Problem(
                        column,
                        "conflicting_product",
                        f"{column} differs from row {staged.first_row}, the first row of product {handle!r}; "
                        "a product's columns must be the same on each of its rows",
                    )
                )
            elif staged.problem is not None:
                problems.append(
                    Problem(
                        staged.problem.column,
                        staged.problem.code,
                        f"{staged.problem.message} (see row {staged.first_row})",
                    )
                )
            return staged
        pid = parsed.product_id
        owner = self.db_handles.get(handle)
        problem: Problem | None = None
        resolved: str | None = owner
        action = "create" if owner is None else "update"
        if pid is not None:
            seen = self.keys["product_id"].get(pid)
            if seen is not None:
                problem = Problem(
                    "Product Id",
                    "duplicate_product_id",
                    f"Product Id {pid!r} is already used by product {seen[1]!r} on row {seen[0]}",
                )
            elif owner is not None and owner != pid:
                problem = Problem(
                    "Product Handle", "handle_taken", f"Product Handle {handle!r} already belongs to product {owner}"
                )
            action, resolved = ("update" if pid in self.db_ids else "create"), pid
            self._remember("product_id", pid, parsed.row, handle)
        if problem is None and action == "create" and not parsed.product.get("title"):
            problem = Problem("Product Title", "missing_value", "Product Title is empty; a new product needs one")
        staged = StagedProduct(parsed.row, parsed.product_cells, resolved, action, problem)
        self.products[handle] = staged
        self.new_products[handle] = staged
        if problem is not None:
            problems.append(problem)
        return staged

    def _variant(self, parsed: ParsedRow, product: StagedProduct, problems: list[Problem]) -> tuple[str, str | None]:
        vid = parsed.variant_id
        sku = parsed.variant.get("sku")
        action = "create"
        if vid is not None:
            seen = self.keys["variant_id"].get(vid)
            owner = self.db_variants.get(vid)
            if seen is not None:
                problems.append(
                    Problem("Variant Id", "duplicate_variant_id", f"Variant Id {vid!r} is already on row {seen[0]}")
                )
            if owner is not None:
                action = "update"
                if product.action == "create" or owner != product.resolved:
                    problems.append(
                        Problem(
                            "Variant Id", "variant_of_other_product", f"Variant Id {vid!r} belongs to product {owner}"
                        )
                    )
        elif sku is not None and sku in self.db_skus:
            matched, owner = self.db_skus[sku]
            if product.action == "update" and owner == product.resolved:
                action, vid = "update", matched  # no id, but the product's variant with this SKU: update it
                seen = self.keys["variant_id"].get(matched)
                if seen is not None:
                    problems.append(
                        Problem(
                            "Variant SKU",
                            "duplicate_variant_id",
                            f"Variant SKU {sku!r} is variant {matched}, which row {seen[0]} already imports",
                        )
                    )
        if sku is not None:
            seen = self.keys["sku"].get(sku)
            stored = self.db_skus.get(sku)
            if seen is not None:
                problems.append(
                    Problem("Variant SKU", "duplicate_sku", f"Variant SKU {sku!r} is already used on row {seen[0]}")
                )
            elif stored is not None and stored[0] != vid:
                problems.append(
                    Problem(
                        "Variant SKU",
                        "duplicate_sku",
                        f"Variant SKU {sku!r} already belongs to variant {stored[0]} of product {stored[1]}",
                    )
                )
        if action == "create" and not parsed.variant.get("title"):
            problems.append(
                Problem("Variant Title", "missing_value", "Variant Title is empty; a new variant needs one")
            )
        return action, vid

    def _first_difference(self, first: tuple[str, ...], other: tuple[str, ...]) -> str:
        names = [self.checker.header.names[i] for i in self.checker.header.product_indexes]
        for name, a, b in zip(names, first, other, strict=True):
            if a != b:
                return name
        return "Product Handle"
