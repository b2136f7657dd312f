"""Reading a chunk of products as the export's CSV lines: two queries per chunk, one per product, one per variant.

The dynamic columns are computed by the database, not by Python: each price column, option value,
option name and image is a correlated subquery (a few index lookups), and the tags are aggregated
into one string. A chunk so reads one row per product and one row per variant, however many
prices, options and images they have: that is what keeps the export close to a raw ``SELECT``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from batchctl.catalog.bulk import IN_BATCH, no_jit, select_rows
from batchctl.catalog.csv_format import GUARD_FIRST, format_amount, guard
from batchctl.catalog.queries import select_in
from batchctl.db import Tx

# Every column comes back as text (or NULL), in the CSV's order, so that Python only guards and joins.
_PRODUCT_COLUMNS = (
    "p.id, p.handle, p.title, p.subtitle, p.description, p.status, p.thumbnail, CAST(p.weight AS TEXT), "
    "CAST(p.length AS TEXT), CAST(p.width AS TEXT), CAST(p.height AS TEXT), p.hs_code, p.origin_country, "
    "p.mid_code, p.material, c.title, c.handle, t.value, {tags}, "
    "CASE WHEN p.discountable THEN 'true' ELSE 'false' END, p.external_id"
)
_VARIANT_COLUMNS = (
    "v.product_id, v.id, v.title, v.sku, v.barcode, CAST(v.inventory_quantity AS TEXT), "
    "CASE WHEN v.allow_backorder THEN 'true' ELSE 'false' END, "
    "CASE WHEN v.manage_inventory THEN 'true' ELSE 'false' END, CAST(v.weight AS TEXT), CAST(v.length AS TEXT), "
    "CAST(v.width AS TEXT), CAST(v.height AS TEXT), v.hs_code, v.origin_country, v.mid_code, v.material"
)
_PRODUCT_WIDTH = 21  # the columns above, before the option names and images
_PROFILE = ["", ""]  # Product Profile Name and Type: batchctl has no shipping profiles
_NO_VARIANT = [""] * 15  # a product without variants still gets a line, so that it survives a round trip


def _cells(values: Sequence[str | None]) -> list[str]:
    """Text cells, guarded against formula injection ("" for NULL); the common cell takes no call."""
    return ["" if v is None else v if not v or v[0] not in GUARD_FIRST else guard(v) for v in values]


def _tags_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return (
            "(SELECT string_agg(g.value, ',' ORDER BY l.position, g.value) FROM product_tags l "
            "JOIN product_tag g ON g.id = l.tag_id WHERE l.product_id = p.id)"
        )
    # SQLite before 3.44 has no ORDER BY inside group_concat; it concatenates in the subquery's order.
    return (
        "(SELECT group_concat(value, ',') FROM (SELECT g.value FROM product_tags l JOIN product_tag g "
        "ON g.id = l.tag_id WHERE l.product_id = p.id ORDER BY l.position, g.value))"
    )


def _nth(table: str, column: str, owner: str, index: int) -> str:
    return (
        f"(SELECT {column} FROM {table} x WHERE x.product_id = {owner} "
        f"ORDER BY x.position, x.id LIMIT 1 OFFSET {index})"
    )


class ExportReader:
    """The queries for one export's shape, and the CSV lines of each chunk of products."""

    def __init__(self, tx: Tx, shape: dict[str, Any], where: str, params: dict[str, Any]) -> None:
        self.where = where
        self.params = dict(params)
        self.options = int(shape["options"])
        self.images = int(shape["images"])
        region_names = [name for name, _ in shape["regions"]]
        region_ids = {
            row["name"]: int(row["id"])
            for row in select_in(tx, "SELECT id, name FROM region WHERE name IN ({in})", region_names)
        }
        prices = []
        self.currencies: list[str] = []
        # COALESCE(region_id, 0) keeps both databases on the variant_id index: without statistics (a freshly
        # loaded catalog) they pick the region_id one, which walks every price of the region for each variant.
        for number, currency in enumerate(shape["currencies"]):
            self.params[f"cur_{number}"] = currency
            self.currencies.append(currency)
            prices.append(
                "(SELECT m.amount FROM money_amount m WHERE m.variant_id = v.id AND COALESCE(m.region_id, 0) = 0 "
                f"AND m.currency_code = :cur_{number} LIMIT 1) AS price_{number}"
            )
        for number, (name, currency) in enumerate(shape["regions"], start=len(prices)):
            self.params[f"reg_{number}"] = region_ids.get(name, -1)
            self.currencies.append(currency)
            prices.append(
                f"(SELECT m.amount FROM money_amount m WHERE m.variant_id = v.id "
                f"AND COALESCE(m.region_id, 0) = :reg_{number} LIMIT 1) AS price_{number}"
            )
        values = [
            "(SELECT ov.value FROM product_option_value ov WHERE ov.variant_id = v.id AND ov.option_id = "
            f"{_nth('product_option', 'x.id', 'v.product_id', index)})"
            for index in range(self.options)
        ]
        names = [_nth("product_option", "x.title", "p.id", i) for i in range(self.options)]
        images = [_nth("product_image", "x.url", "p.id", i) for i in range(self.images)]
        columns = _PRODUCT_COLUMNS.format(tags=_tags_sql(tx.dialect))
        select = (
            f"SELECT {', '.join([columns, *names, *images])} FROM product p "
            "LEFT JOIN product_collection c ON c.id = p.collection_id LEFT JOIN product_type t ON t.id = p.type_id "
            f"WHERE {where}"
        )
        self.first_sql = f"{select} ORDER BY p.id LIMIT :limit"
        self.next_sql = f"{select} AND p.id > :cursor ORDER BY p.id LIMIT :limit"
        self.variant_sql = (
            f"SELECT {', '.join([_VARIANT_COLUMNS, *prices, *values])} FROM product_variant v "
            "WHERE v.product_id IN ({in}) ORDER BY v.product_id, v.variant_rank, v.id"
        )

    def chunk(self, tx: Tx, cursor: str | None, size: int) -> tuple[list[list[str]], str | None, int]:
        """The lines of the next ``size`` products after ``cursor``: (lines, new cursor, products read)."""
        no_jit(tx)
        sql = self.first_sql if cursor is None else self.next_sql
        products = select_rows(tx, sql, {**self.params, "cursor": cursor, "limit": size})
        if not products:
            return [], cursor, 0
        ids = [row[0] for row in products]
        by_product: dict[str, list[tuple[Any, ...]]] = {}
        for start in range(0, len(ids), IN_BATCH):
            placeholders, in_params = tx.in_list("in_", ids[start : start + IN_BATCH])
            sql = self.variant_sql.replace("{in}", placeholders)
            for row in select_rows(tx, sql, {**self.params, **in_params}):
                by_product.setdefault(row[0], []).append(row)
        currencies = self.currencies
        prices_end = 16 + len(currencies)
        lines: list[list[str]] = []
        for product in products:
            head = _cells(product[:_PRODUCT_WIDTH]) + _PROFILE
            names = _cells(product[_PRODUCT_WIDTH : _PRODUCT_WIDTH + self.options])
            tail = _cells(product[_PRODUCT_WIDTH + self.options :])
            variants: list[tuple[Any, ...] | None] = list(by_product.get(product[0], ())) or [None]
            for variant in variants:
                if variant is None:
                    line = head + _NO_VARIANT + [""] * len(currencies)
                    for name in names:
                        line += [name, ""]
                else:
                    line = head + _cells(variant[1:16])
                    for amount, currency in zip(variant[16:prices_end], currencies, strict=True):
                        line.append("" if amount is None else format_amount(int(amount), currency))
                    for name, value in zip(names, _cells(variant[prices_end:]), strict=True):
                        line += [name, value]
                lines.append(line + tail)
        return lines, ids[-1], len(products)
