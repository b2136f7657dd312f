"""The demo catalog: seeding draft products rich enough for Medusa's CSV format, and counting them.

Seeded products have two options (Size, Color) with a value per variant, prices in EUR and USD plus a
region price, one to three images, tags, a collection and a type. Some texts hold what a CSV must
survive: ``;``, quotes, line breaks and leading ``-``/``=`` (the export's formula guard).
"""

from __future__ import annotations

import random
from typing import Any

from ulid import ULID

from batchctl import bounds
from batchctl.catalog.queries import ensure_collections, ensure_regions, ensure_values, select_in
from batchctl.db import Tx, utcnow
from batchctl.errors import BadInput

PRODUCT_STATUSES = ("draft", "proposed", "published", "rejected")
SEED_BATCH = 2_000

COLLECTIONS = (("summer", "Summer"), ("winter", "Winter"), ("basics", "Basics"))
TYPES = ("Shirt", "Pants", "Hat", "Mug")
TAGS = ("organic", "sale", "new", "eco", "limited")
REGIONS = {"Europe": "eur", "North America": "usd"}
SIZES = ("S", "M", "L", "XL")
COLORS = ("Black", "White", "Red", "Blue", "Green")
SUBTITLES = (None, "Everyday comfort", "-20% this week", "=the classic", 'The "original"; since 1999')

_PRODUCT_COLUMNS = (
    "id, handle, title, subtitle, description, status, thumbnail, weight, length, width, height, hs_code, "
    "origin_country, mid_code, material, collection_id, type_id, discountable, external_id, created_at, updated_at"
)
_VARIANT_COLUMNS = (
    "id, product_id, title, sku, barcode, inventory_quantity, allow_backorder, manage_inventory, weight, length, "
    "width, height, hs_code, origin_country, mid_code, material, variant_rank, created_at"
)


def _insert_sql(table: str, columns: str) -> str:
    names = [name.strip() for name in columns.split(",")]
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"


def seed_products(tx: Tx, count: int, *, variants: int = 2) -> int:
    """Insert ``count`` draft products with ``variants`` variants each; return how many were added."""
    bounds.SEED_COUNT.check("--count", count)
    bounds.SEED_VARIANTS.check("--variants", variants)
    collections = ensure_collections(tx, COLLECTIONS)
    types = ensure_values(tx, "product_type", TYPES)
    tags = ensure_values(tx, "product_tag", TAGS)
    regions = ensure_regions(tx, REGIONS)
    rng = random.Random()
    added = 0
    while added < count:
        size = min(SEED_BATCH, count - added)
        _seed_batch(tx, size, variants, rng, collections, types, tags, regions)
        added += size
    return added


def _seed_batch(
    tx: Tx,
    size: int,
    variants: int,
    rng: random.Random,
    collections: dict[str, int],
    types: dict[str, int],
    tags: dict[str, int],
    regions: dict[str, int],
) -> None:
    now = utcnow()
    products: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    options: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for _ in range(size):
        product_id = f"prod_{ULID()}"
        suffix = product_id[-10:].lower()
        kind = rng.choice(TYPES)
        products.append(
            {
                "id": product_id,
                "handle": f"product-{suffix}",
                "title": f"{kind} {suffix}",
                "subtitle": rng.choice(SUBTITLES),
                "description": rng.choice((None, f'A {kind.lower()}; soft,\nwarm and "durable".', "Plain text.")),
                "status": "draft",
                "thumbnail": f"https://img.example.com/{suffix}/thumb.png",
                "weight": rng.randrange(100, 2000),
                "length": rng.choice((None, 30)),
                "width": rng.choice((None, 20)),
                "height": rng.choice((None, 5)),
                "hs_code": rng.choice((None, "6109.10")),
                "origin_country": rng.choice((None, "pt", "us")),
                "mid_code": None,
                "material": rng.choice((None, "Cotton", "Wool")),
                "collection_id": rng.choice((None, *collections.values())),
                "type_id": types[kind],
                "discountable": rng.random() < 0.8,
                "external_id": rng.choice((None, f"ext-{suffix}")),
                "created_at": now,
                "updated_at": now,
            }
        )
        for position, tag in enumerate(rng.sample(TAGS, rng.randrange(0, 4))):
            links.append({"product_id": product_id, "tag_id": tags[tag], "position": position})
        for position in range(rng.randrange(1, 4)):
            images.append(
                {
                    "product_id": product_id,
                    "url": f"https://img.example.com/{suffix}/{position}.png",
                    "position": position,
                }
            )
        if variants:
            options += [
                {"product_id": product_id, "title": "Size", "position": 0},
                {"product_id": product_id, "title": "Color", "position": 1},
            ]
        for number in range(variants):
            size_value, color = SIZES[number % len(SIZES)], COLORS[(number // len(SIZES)) % len(COLORS)]
            rows.append(
                {
                    "id": f"variant_{ULID()}",
                    "product_id": product_id,
                    "title": f"{size_value} / {color}",
                    "sku": f"SKU-{suffix}-{number + 1}",
                    "barcode": rng.choice((None, f"40{rng.randrange(10**10, 10**11)}")),
                    "inventory_quantity": 10 * (number + 1),
                    "allow_backorder": number % 2 == 1,
                    "manage_inventory": True,
                    "weight": rng.choice((None, 250)),
                    "length": None,
                    "width": None,
                    "height": None,
                    "hs_code": None,
                    "origin_country": None,
                    "mid_code": None,
                    "material": None,
                    "variant_rank": number,
                    "created_at": now,
                    "size": size_value,
                    "color": color,
                }
            )
    tx.executemany(_insert_sql("product", _PRODUCT_COLUMNS), products)
    if links:
        tx.executemany(_insert_sql("product_tags", "product_id, tag_id, position"), links)
    tx.executemany(_insert_sql("product_image", "product_id, url, position"), images)
    if not rows:
        return
    tx.executemany(_insert_sql("product_option", "product_id, title, position"), options)
    option_ids = {
        (row["product_id"], row["title"]): int(row["id"])
        for row in select_in(
            tx,
            "SELECT id, product_id, title FROM product_option WHERE product_id IN ({in})",
            [p["id"] for p in products],
        )
    }
    tx.executemany(_insert_sql("product_variant", _VARIANT_COLUMNS), rows)
    values = []
    prices = []
    for row in rows:
        for title, key in (("Size", "size"), ("Color", "color")):
            values.append(
                {"variant_id": row["id"], "option_id": option_ids[(row["product_id"], title)], "value": row[key]}
            )
        base = rng.randrange(500, 20000)
        prices.append({"variant_id": row["id"], "currency_code": "eur", "region_id": None, "amount": base})
        prices.append({"variant_id": row["id"], "currency_code": "usd", "region_id": None, "amount": base + 150})
        if rng.random() < 0.5:
            prices.append(
                {"variant_id": row["id"], "currency_code": "eur", "region_id": regions["Europe"], "amount": base - 50}
            )
    tx.executemany(_insert_sql("product_option_value", "variant_id, option_id, value"), values)
    tx.executemany(_insert_sql("money_amount", "variant_id, currency_code, region_id, amount"), prices)


def count_products(tx: Tx, status: str | None = None) -> dict[str, int]:
    """Products per status (only ``status`` when given)."""
    if status is not None and status not in PRODUCT_STATUSES:
        raise BadInput(f"unknown product status {status!r}; expected one of: {', '.join(PRODUCT_STATUSES)}")
    rows = tx.execute("SELECT status, COUNT(*) AS n FROM product GROUP BY status").all()
    counts = {row["status"]: int(row["n"]) for row in rows}
    if status is not None:
        return {status: counts.get(status, 0)}
    return {name: counts.get(name, 0) for name in PRODUCT_STATUSES}
