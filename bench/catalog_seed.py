"""Seeding a bench catalog of N variants quickly: batchctl's seeder for a base, then copies made in SQL.

``seed_products`` makes every row in Python (about 10,000 variants a second on SQLite, fewer on
PostgreSQL): 1M variants would take minutes of set-up. So it seeds a base of about 1 % of the products
(at least ``MIN_BASE``), and the rest are copies of that base made by ``INSERT ... SELECT`` in the
database, each with its own ids, handles and SKUs. The ids keep batchctl's shape (``prod_`` + 26
characters): the copy's number replaces the ULID's first four characters, so each copy's products are
contiguous in id order, as a seeded catalog's are. PostgreSQL's statistics are then gathered, as
autovacuum would soon after such a load (so that it does not, in the middle of a measurement).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stages import Stage

if TYPE_CHECKING:
    from batchctl.db import Tx

VARIANTS_PER_PRODUCT = 2
MIN_BASE = 500  # products; a base of ~1 % keeps the copies to ~100 statements per table

# Each table's copy of the base, read from the base's snapshot (``base_<table>``, so that a copy reads
# the base only, never the copies made before it): ``:tag`` is the copy's four digits, ``:shift`` moves
# the option ids past the base's. The columns not listed (serial ids) are drawn by the database.
COPIES = (
    "INSERT INTO product (id, handle, title, subtitle, description, status, thumbnail, weight, length, width, "
    "height, hs_code, origin_country, mid_code, material, collection_id, type_id, discountable, external_id, "
    "created_at, updated_at) "
    "SELECT 'prod_' || :tag || substr(id, 10), handle || '-' || :tag, title, subtitle, description, status, "
    "thumbnail, weight, length, width, height, hs_code, origin_country, mid_code, material, collection_id, "
    "type_id, discountable, external_id, created_at, updated_at FROM base_product ORDER BY id",
    "INSERT INTO product_tags (product_id, tag_id, position) "
    "SELECT 'prod_' || :tag || substr(product_id, 10), tag_id, position FROM base_product_tags",
    "INSERT INTO product_image (product_id, url, position) "
    "SELECT 'prod_' || :tag || substr(product_id, 10), url, position FROM base_product_image ORDER BY id",
    "INSERT INTO product_option (id, product_id, title, position) "
    "SELECT id + :shift, 'prod_' || :tag || substr(product_id, 10), title, position FROM base_product_option",
    "INSERT INTO product_variant (id, product_id, title, sku, barcode, inventory_quantity, allow_backorder, "
    "manage_inventory, weight, length, width, height, hs_code, origin_country, mid_code, material, variant_rank, "
    "created_at) "
    "SELECT 'variant_' || :tag || substr(id, 13), 'prod_' || :tag || substr(product_id, 10), title, "
    "sku || '-' || :tag, barcode, inventory_quantity, allow_backorder, manage_inventory, weight, length, width, "
    "height, hs_code, origin_country, mid_code, material, variant_rank, created_at FROM base_product_variant "
    "ORDER BY id",
    "INSERT INTO product_option_value (variant_id, option_id, value) "
    "SELECT 'variant_' || :tag || substr(variant_id, 13), option_id + :shift, value FROM base_product_option_value "
    "ORDER BY id",
    "INSERT INTO money_amount (variant_id, currency_code, region_id, amount) "
    "SELECT 'variant_' || :tag || substr(variant_id, 13), currency_code, region_id, amount FROM base_money_amount "
    "ORDER BY id",
)
TABLES = (
    "product",
    "product_tags",
    "product_image",
    "product_option",
    "product_variant",
    "product_option_value",
    "money_amount",
)


def seed_catalog(stage: Stage, variants: int) -> float:
    """Fill the stage's catalog with ``variants`` variants (2 per product); the seconds it took."""
    from batchctl.catalog.products import seed_products

    products = max(1, variants // VARIANTS_PER_PRODUCT)
    base = min(products, max(MIN_BASE, products // 100))
    copies, rest = divmod(products - base, base)
    runtime = stage.runtime()
    started = time.perf_counter()
    with runtime.db.transaction() as tx:
        seed_products(tx, base, variants=VARIANTS_PER_PRODUCT)
        if copies:
            _copy_base(tx, copies)
        seed_products(tx, rest, variants=VARIANTS_PER_PRODUCT)
    if runtime.db.dialect == "postgresql":
        with runtime.db.transaction() as tx:
            tx.execute("ANALYZE")
    runtime.db.discard_connection()
    return time.perf_counter() - started


def _copy_base(tx: Tx, copies: int) -> None:
    """``copies`` copies of every product seeded so far (the base), with its tags, images, options, variants."""
    shift = int(tx.execute("SELECT COALESCE(MAX(id), 0) AS n FROM product_option").scalar())
    for table in TABLES:
        tx.execute(f"CREATE TEMPORARY TABLE base_{table} AS SELECT * FROM {table}")
    with _keys_built_once(tx):
        for copy in range(1, copies + 1):
            # Four digits: never a seeded ULID's first four characters, a time ("01K…" in the 2020s).
            params = {"tag": f"{copy:04d}", "shift": shift * copy}
            for sql in COPIES:
                tx.execute(sql, params)
    for table in TABLES:
        tx.execute(f"DROP TABLE base_{table}")
    if tx.dialect == "postgresql":
        # The option ids were given, not drawn: move the sequence past them for later inserts.
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('product_option', 'id'), (SELECT MAX(id) FROM product_option))"
        )


@contextmanager
def _keys_built_once(tx: Tx) -> Iterator[None]:
    """PostgreSQL: the copied tables' keys and indexes dropped, then made again, each in one pass.

    Kept, they are checked and updated row by row: two thirds of the copying's time. The definitions are
    read from the catalog and given back as they were. SQLite's cost less, in-process: they stay.
    """
    if tx.dialect != "postgresql":
        yield
        return
    tables = ", ".join(f"'{table}'" for table in TABLES)
    # Foreign keys first (they need the keys they reference), then primary and unique keys, then the rest.
    constraints = tx.execute(
        "SELECT conrelid::regclass::text AS owner, conname AS name, pg_get_constraintdef(oid) AS definition "
        f"FROM pg_constraint WHERE contype IN ('f', 'p', 'u') AND conrelid::regclass::text IN ({tables}) "
        "ORDER BY contype = 'f' DESC"
    ).all()
    indexes = tx.execute(
        "SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = current_schema() "
        f"AND tablename IN ({tables}) AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    ).all()
    for constraint in constraints:
        tx.execute(f'ALTER TABLE {constraint["owner"]} DROP CONSTRAINT "{constraint["name"]}"')
    for index in indexes:
        tx.execute(f'DROP INDEX "{index["name"]}"')
    yield
    for index in indexes:
        tx.execute(index["definition"])
    for constraint in reversed(constraints):
        owner, name, definition = constraint["owner"], constraint["name"], constraint["definition"]
        tx.execute(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}')
