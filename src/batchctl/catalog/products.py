"""The demo catalog: seeding draft products with variants, and counting them."""

from __future__ import annotations

from ulid import ULID

from batchctl.db import Tx, utcnow
from batchctl.errors import BadInput

PRODUCT_STATUSES = ("draft", "proposed", "published", "rejected")
SEED_BATCH = 5_000


def seed_products(tx: Tx, count: int, *, variants: int = 2) -> int:
    """Insert ``count`` draft products with ``variants`` variants each; return how many were added."""
    if count < 0 or variants < 0:
        raise BadInput("--count and --variants must be >= 0")
    now = utcnow()
    added = 0
    while added < count:
        size = min(SEED_BATCH, count - added)
        products = []
        product_variants = []
        for _ in range(size):
            product_id = f"prod_{ULID()}"
            suffix = product_id[-10:].lower()
            products.append(
                {
                    "id": product_id,
                    "handle": f"product-{suffix}",
                    "title": f"Product {suffix}",
                    "status": "draft",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for number in range(1, variants + 1):
                product_variants.append(
                    {
                        "id": f"variant_{ULID()}",
                        "product_id": product_id,
                        "title": f"Variant {number}",
                        "sku": f"SKU-{suffix}-{number}",
                        "inventory_quantity": 10 * number,
                        "created_at": now,
                    }
                )
        tx.executemany(
            "INSERT INTO product (id, handle, title, status, created_at, updated_at) "
            "VALUES (:id, :handle, :title, :status, :created_at, :updated_at)",
            products,
        )
        if product_variants:
            tx.executemany(
                "INSERT INTO product_variant (id, product_id, title, sku, inventory_quantity, created_at) "
                "VALUES (:id, :product_id, :title, :sku, :inventory_quantity, :created_at)",
                product_variants,
            )
        added += size
    return added


def count_products(tx: Tx, status: str | None = None) -> dict[str, int]:
    """Products per status (only ``status`` when given)."""
    if status is not None and status not in PRODUCT_STATUSES:
        raise BadInput(f"unknown product status {status!r}; expected one of: {', '.join(PRODUCT_STATUSES)}")
    rows = tx.execute("SELECT status, COUNT(*) AS n FROM product GROUP BY status").all()
    counts = {row["status"]: int(row["n"]) for row in rows}
    if status is not None:
        return {status: counts.get(status, 0)}
    return {name: counts.get(name, 0) for name in PRODUCT_STATUSES}
