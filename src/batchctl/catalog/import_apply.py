"""Applying one chunk of checked rows to the catalog, in bulk statements inside the chunk's transaction.

The file is the truth for the columns it has: an empty cell clears a nullable field, and a column that
is not in the file leaves its field alone. Fields that cannot be empty (title, status, discountable,
inventory quantity, the inventory flags) keep their stored value when the cell is empty. Tags, images,
option values and the prices of the file's price columns are replaced as a whole for each product or
variant the chunk touches. Options are added and reordered, never deleted.

A product is written from its first good row (``ParsedRow.first``); its other rows, in this chunk or
later ones, only find it by handle. A chunk commits together with the job's progress, so a resumed
job starts after the last committed chunk and never applies a row twice.
"""

from __future__ import annotations

from typing import Any

from ulid import ULID

from batchctl.catalog.bulk import IN_BATCH, insert_many, lookup, update_many
from batchctl.catalog.columns import FIXED_BY_KEY, Header
from batchctl.catalog.queries import ensure_collections, ensure_regions, ensure_values, slugify
from batchctl.catalog.rows import ParsedRow
from batchctl.db import Tx, utcnow

PRODUCT_FIELDS = (
    "title", "subtitle", "description", "status", "thumbnail", "weight", "length", "width", "height",
    "hs_code", "origin_country", "mid_code", "material", "discountable", "external_id",
)  # fmt: skip
VARIANT_FIELDS = (
    "title", "sku", "barcode", "inventory_quantity", "allow_backorder", "manage_inventory", "weight", "length",
    "width", "height", "hs_code", "origin_country", "mid_code", "material",
)  # fmt: skip
# Empty cells keep the stored value (and take this default on create) rather than clearing it.
PRODUCT_DEFAULTS: dict[str, Any] = {"status": "draft", "discountable": True}
VARIANT_DEFAULTS: dict[str, Any] = {"inventory_quantity": 0, "allow_backorder": False, "manage_inventory": True}
KEEP_WHEN_EMPTY = {"title", *PRODUCT_DEFAULTS, *VARIANT_DEFAULTS}


def _present(header: Header, entity: str, fields: tuple[str, ...]) -> list[str]:
    present = {FIXED_BY_KEY[name.lower()].field for name in header.fixed if FIXED_BY_KEY[name.lower()].entity == entity}
    return [f for f in fields if f in present]


def _assignments(fields: list[str]) -> list[str]:
    return [f"{f} = COALESCE({{}}, {f})" if f in KEEP_WHEN_EMPTY else f"{f} = {{}}" for f in fields]


class ImportApplier:
    """Writes chunks of ParsedRows for one file's header."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.product_fields = _present(header, "product", PRODUCT_FIELDS)
        self.variant_fields = _present(header, "variant", VARIANT_FIELDS)
        self.has_collection = header.has("Product Collection Title") or header.has("Product Collection Handle")
        self.has_type = header.has("Product Type")
        self.has_tags = header.has("Product Tags")
        self.has_images = bool(header.images)
        self.has_options = any(o.name_index is not None for o in header.options)
        self.regions = {p.region: p.currency for p in header.prices if p.region is not None}
        self.currencies = sorted({p.currency for p in header.prices if p.region is None})
        extra = ["collection_id"] if self.has_collection else []
        extra += ["type_id"] if self.has_type else []
        self._product_update = [*_assignments(["handle", *self.product_fields, *extra]), "updated_at = {}"]
        self._product_insert = ["id", "handle", *PRODUCT_FIELDS, "collection_id", "type_id", "created_at", "updated_at"]
        self._product_defaults = [(PRODUCT_FIELDS.index(f), value) for f, value in PRODUCT_DEFAULTS.items()]
        self._variant_update = _assignments(self.variant_fields)
        self._variant_insert = ["id", "product_id", *VARIANT_FIELDS, "variant_rank", "created_at"]
        self._variant_defaults = [(VARIANT_FIELDS.index(f), value) for f, value in VARIANT_DEFAULTS.items()]

    def apply(self, tx: Tx, rows: list[ParsedRow]) -> None:
        """Write one chunk of good rows (in file order)."""
        if not rows:
            return
        now = utcnow()
        # A product is written from its first row; later rows (here or in later chunks) only name it.
        firsts = {parsed.handle or "": parsed for parsed in rows if parsed.first}
        product_ids, existing = self._products(tx, firsts, now)
        later = list({parsed.handle or "" for parsed in rows if not parsed.first} - firsts.keys())
        if later:
            sql = "SELECT id, handle FROM product WHERE handle IN ({in})"
            product_ids.update({handle: pid for pid, handle in lookup(tx, sql, later)})
        if self.has_tags:
            self._tags(tx, firsts, product_ids, existing)
        if self.has_images:
            self._images(tx, firsts, product_ids, existing)
        options = self._options(tx, firsts, product_ids, existing) if self.has_options else {}
        variant_ids, updated = self._variants(tx, rows, product_ids, now)
        if self.has_options:
            self._option_values(tx, rows, product_ids, variant_ids, updated, options)
        if self.header.prices:
            self._prices(tx, rows, variant_ids, updated)

    # -- products -------------------------------------------------------------------------------------------

    def _products(self, tx: Tx, firsts: dict[str, ParsedRow], now: Any) -> tuple[dict[str, str], set[str]]:
        """Create or update each product; returns its id by handle and the ids that existed before."""
        pids = [p.product_id for p in firsts.values() if p.product_id]
        by_id = {pid for (pid,) in lookup(tx, "SELECT id FROM product WHERE id IN ({in})", pids)}
        by_handle = {
            handle: pid
            for pid, handle in lookup(tx, "SELECT id, handle FROM product WHERE handle IN ({in})", list(firsts))
        }
        collections = (
            ensure_collections(tx, [c for p in firsts.values() if (c := _collection(p))]) if self.has_collection else {}
        )
        types = (
            ensure_values(tx, "product_type", [p.type_value for p in firsts.values() if p.type_value])
            if self.has_type
            else {}
        )
        product_ids: dict[str, str] = {}
        existing: set[str] = set()
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        stamp = tx.timestamp(now)
        for handle, parsed in firsts.items():
            pid = parsed.product_id or by_handle.get(handle)
            collection = _collection(parsed)
            collection_id = collections.get(collection[0]) if collection else None
            type_id = types.get(parsed.type_value) if parsed.type_value else None
            product = parsed.product
            if pid is not None and (pid in by_id or (parsed.product_id is None and handle in by_handle)):
                existing.add(pid)
                values = [handle, *(product.get(f) for f in self.product_fields)]
                values += [collection_id] if self.has_collection else []
                values += [type_id] if self.has_type else []
                updates.append((*values, stamp, pid))
            else:
                pid = pid or f"prod_{ULID()}"
                values = [product.get(f) for f in PRODUCT_FIELDS]
                for position, default in self._product_defaults:
                    if values[position] is None:
                        values[position] = default
                inserts.append((pid, handle, *values, collection_id, type_id, stamp, stamp))
            product_ids[handle] = pid
        insert_many(tx, "product", self._product_insert, inserts)
        update_many(tx, "product", self._product_update, updates)
        return product_ids, existing

    def _tags(self, tx: Tx, firsts: dict[str, ParsedRow], product_ids: dict[str, str], existing: set[str]) -> None:
        tag_ids = ensure_values(tx, "product_tag", [t for p in firsts.values() for t in (p.tags or [])])
        _delete_for(tx, "product_tags", "product_id", existing)
        links = [
            (product_ids[handle], tag_ids[tag], position)
            for handle, parsed in firsts.items()
            for position, tag in enumerate(parsed.tags or [])
        ]
        insert_many(tx, "product_tags", ("product_id", "tag_id", "position"), links)

    def _images(self, tx: Tx, firsts: dict[str, ParsedRow], product_ids: dict[str, str], existing: set[str]) -> None:
        _delete_for(tx, "product_image", "product_id", existing)
        images = [
            (product_ids[handle], url, position)
            for handle, parsed in firsts.items()
            for position, url in enumerate(parsed.images)
        ]
        insert_many(tx, "product_image", ("product_id", "url", "position"), images)

    def _options(
        self, tx: Tx, firsts: dict[str, ParsedRow], product_ids: dict[str, str], existing: set[str]
    ) -> dict[tuple[str, str], int]:
        """Add the options the file names and put them in its order; returns option ids by (product, title)."""
        sql = "SELECT id, product_id, title, position FROM product_option WHERE product_id IN ({in})"
        stored = {
            (pid, title): (int(option_id), int(position))
            for option_id, pid, title, position in lookup(tx, sql, list(existing))
        }
        inserts: list[tuple[Any, ...]] = []
        moves: list[tuple[Any, ...]] = []
        for handle, parsed in firsts.items():
            pid = product_ids[handle]
            for position, title in enumerate(parsed.option_names):
                found = stored.get((pid, title))
                if found is None:
                    inserts.append((pid, title, position))
                elif found[1] != position:
                    moves.append((position, found[0]))
        insert_many(tx, "product_option", ("product_id", "title", "position"), inserts)
        update_many(tx, "product_option", ["position = {}"], moves)
        sql = "SELECT id, product_id, title FROM product_option WHERE product_id IN ({in})"
        ids = list(set(product_ids.values()))
        return {(pid, title): int(option_id) for option_id, pid, title in lookup(tx, sql, ids)}

    # -- variants -------------------------------------------------------------------------------------------

    def _variants(
        self, tx: Tx, rows: list[ParsedRow], product_ids: dict[str, str], now: Any
    ) -> tuple[dict[int, str], set[str]]:
        """Create or update each row's variant; returns variant ids by row number and the ids that existed."""
        with_variant = [p for p in rows if p.has_variant]
        vids = [p.variant_id for p in with_variant if p.variant_id]
        skus = [sku for p in with_variant if (sku := p.variant.get("sku")) and not p.variant_id]
        by_id = {vid for (vid,) in lookup(tx, "SELECT id FROM product_variant WHERE id IN ({in})", vids)}
        by_sku = {
            sku: (vid, pid)
            for vid, pid, sku in lookup(tx, "SELECT id, product_id, sku FROM product_variant WHERE sku IN ({in})", skus)
        }
        variant_ids: dict[int, str] = {}
        updated: set[str] = set()
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        stamp = tx.timestamp(now)
        for parsed in with_variant:
            pid = product_ids[parsed.handle or ""]
            vid = parsed.variant_id
            sku = parsed.variant.get("sku")
            if vid is None and sku is not None and sku in by_sku and by_sku[sku][1] == pid:
                vid = by_sku[sku][0]
            variant = parsed.variant
            if vid is not None and (vid in by_id or vid != parsed.variant_id):
                updated.add(vid)
                updates.append((*(variant.get(f) for f in self.variant_fields), vid))
            else:
                vid = vid or f"variant_{ULID()}"
                values = [variant.get(f) for f in VARIANT_FIELDS]
                for position, default in self._variant_defaults:
                    if values[position] is None:
                        values[position] = default
                inserts.append((vid, pid, *values, parsed.row, stamp))
            variant_ids[parsed.row] = vid
        insert_many(tx, "product_variant", self._variant_insert, inserts)
        if self.variant_fields:
            update_many(tx, "product_variant", self._variant_update, updates)
        return variant_ids, updated

    def _option_values(
        self,
        tx: Tx,
        rows: list[ParsedRow],
        product_ids: dict[str, str],
        variant_ids: dict[int, str],
        updated: set[str],
        options: dict[tuple[str, str], int],
    ) -> None:
        _delete_for(tx, "product_option_value", "variant_id", updated)
        values = [
            (variant_ids[p.row], options[(product_ids[p.handle or ""], title)], value)
            for p in rows
            if p.row in variant_ids
            for title, value in p.option_values
        ]
        insert_many(tx, "product_option_value", ("variant_id", "option_id", "value"), values)

    def _prices(self, tx: Tx, rows: list[ParsedRow], variant_ids: dict[int, str], updated: set[str]) -> None:
        region_ids = ensure_regions(tx, self.regions)
        if updated:
            clauses = []
            params: dict[str, Any] = {}
            if self.currencies:
                placeholders, params = tx.in_list("cur", self.currencies)
                clauses.append(f"(region_id IS NULL AND currency_code IN ({placeholders}))")
            if region_ids:
                placeholders, region_params = tx.in_list("reg", list(region_ids.values()))
                clauses.append(f"region_id IN ({placeholders})")
                params.update(region_params)
            for batch in _batches(sorted(updated), IN_BATCH):
                placeholders, variant_params = tx.in_list("var", batch)
                tx.execute(
                    f"DELETE FROM money_amount WHERE variant_id IN ({placeholders}) AND ({' OR '.join(clauses)})",
                    {**params, **variant_params},
                )
        prices = [
            (variant_ids[p.row], column.currency, region_ids[column.region] if column.region else None, amount)
            for p in rows
            if p.row in variant_ids
            for column, amount in p.prices
            if amount is not None
        ]
        insert_many(tx, "money_amount", ("variant_id", "currency_code", "region_id", "amount"), prices)


def _collection(parsed: ParsedRow) -> tuple[str, str | None] | None:
    if parsed.collection is None:
        return None
    handle, title = parsed.collection
    if handle is None and title is None:
        return None
    return (handle or slugify(title or "")), title


def _delete_for(tx: Tx, table: str, column: str, ids: set[str]) -> None:
    for batch in _batches(sorted(ids), IN_BATCH):
        placeholders, params = tx.in_list("id", batch)
        tx.execute(f"DELETE FROM {table} WHERE {column} IN ({placeholders})", params)


def _batches(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
