"""Medusa's product CSV columns: the fixed ones in Medusa's order, the dynamic ones, and reading a header.

The fixed columns follow Medusa v1's ``productColumnsDefinition``; then come the dynamic ones in the
order Medusa's export appends them: prices (``Price EUR``, ``Price Europe [EUR]``), options
(``Option 1 Name``, ``Option 1 Value``, ...) and images (``Image 1 Url``, ...). Names are matched
without regard to case, which also accepts the spellings of Medusa's older import schema
(``Variant Allow backorder``, ``Product External ID``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from batchctl.catalog.currencies import is_currency


@dataclass(frozen=True)
class Column:
    """One fixed column: its header, the entity and database column it maps to, and its kind of value."""

    name: str
    entity: str  # "product" or "variant"
    field: str | None  # None: read and written, but not stored (Medusa's shipping profile)
    kind: str  # text, id, uint, int, bool, status, tags, collection_title, collection_handle, type, ignored
    max_length: int | None = None


def _p(name: str, field: str | None, kind: str = "text", max_length: int | None = None) -> Column:
    return Column(name, "product", field, kind, max_length)


def _v(name: str, field: str, kind: str = "text", max_length: int | None = None) -> Column:
    return Column(name, "variant", field, kind, max_length)


PRODUCT_COLUMNS: tuple[Column, ...] = (
    _p("Product Id", "id", "id", 40),
    _p("Product Handle", "handle", "text", 200),
    _p("Product Title", "title", "text", 500),
    _p("Product Subtitle", "subtitle", "text", 500),
    _p("Product Description", "description"),
    _p("Product Status", "status", "status"),
    _p("Product Thumbnail", "thumbnail"),
    _p("Product Weight", "weight", "uint"),
    _p("Product Length", "length", "uint"),
    _p("Product Width", "width", "uint"),
    _p("Product Height", "height", "uint"),
    _p("Product HS Code", "hs_code", "text", 200),
    _p("Product Origin Country", "origin_country", "text", 200),
    _p("Product MID Code", "mid_code", "text", 200),
    _p("Product Material", "material", "text", 200),
    _p("Product Collection Title", "collection_title", "collection_title", 500),
    _p("Product Collection Handle", "collection_handle", "collection_handle", 200),
    _p("Product Type", "type", "type", 200),
    _p("Product Tags", "tags", "tags"),
    _p("Product Discountable", "discountable", "bool"),
    _p("Product External Id", "external_id", "text", 200),
    _p("Product Profile Name", None, "ignored"),
    _p("Product Profile Type", None, "ignored"),
)
VARIANT_COLUMNS: tuple[Column, ...] = (
    _v("Variant Id", "id", "id", 40),
    _v("Variant Title", "title", "text", 500),
    _v("Variant SKU", "sku", "text", 200),
    _v("Variant Barcode", "barcode", "text", 200),
    _v("Variant Inventory Quantity", "inventory_quantity", "int"),
    _v("Variant Allow Backorder", "allow_backorder", "bool"),
    _v("Variant Manage Inventory", "manage_inventory", "bool"),
    _v("Variant Weight", "weight", "uint"),
    _v("Variant Length", "length", "uint"),
    _v("Variant Width", "width", "uint"),
    _v("Variant Height", "height", "uint"),
    _v("Variant HS Code", "hs_code", "text", 200),
    _v("Variant Origin Country", "origin_country", "text", 200),
    _v("Variant MID Code", "mid_code", "text", 200),
    _v("Variant Material", "material", "text", 200),
)
FIXED_COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS
FIXED_BY_KEY = {column.name.lower(): column for column in FIXED_COLUMNS}
REQUIRED_COLUMNS = ("Product Handle",)

OPTION_NAME = re.compile(r"^option (\d+) name$", re.IGNORECASE)
OPTION_VALUE = re.compile(r"^option (\d+) value$", re.IGNORECASE)
IMAGE_URL = re.compile(r"^image (\d+) url$", re.IGNORECASE)
PRICE_REGION = re.compile(r"^price (.+?) \[([A-Za-z]{3})\]$", re.IGNORECASE)
PRICE_CURRENCY = re.compile(r"^price ([A-Za-z]{3})$", re.IGNORECASE)
PRICE_ANY = re.compile(r"^price\b", re.IGNORECASE)
# Medusa exports sales channels when its feature flag is on; batchctl has none, so they are read and ignored.
SALES_CHANNEL = re.compile(r"^sales channel \d+ (name|description|id)$", re.IGNORECASE)


@dataclass(frozen=True)
class PriceColumn:
    """A ``Price EUR`` (region None) or ``Price Europe [EUR]`` column; currency in lower case."""

    index: int
    currency: str
    region: str | None


@dataclass(frozen=True)
class OptionColumns:
    """The ``Option N Name``/``Option N Value`` pair for one N."""

    number: int
    name_index: int | None
    value_index: int | None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row (or the header): the column (or ""), a stable code and a message for people."""

    column: str
    code: str
    message: str


@dataclass
class Header:
    """Where each column of a file is, once its header row is read."""

    names: list[str]
    fixed: dict[str, int] = field(default_factory=dict)  # canonical column name -> index
    options: list[OptionColumns] = field(default_factory=list)
    prices: list[PriceColumn] = field(default_factory=list)
    images: list[int] = field(default_factory=list)  # indexes, in N order
    problems: list[Problem] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """Whether the fixed column ``name`` is in the file."""
        return name in self.fixed

    @property
    def product_indexes(self) -> list[int]:
        """The columns that describe the product (the same on each of its rows)."""
        fixed = [i for name, i in self.fixed.items() if FIXED_BY_KEY[name.lower()].entity == "product"]
        names = [o.name_index for o in self.options if o.name_index is not None]
        return sorted([*fixed, *names, *self.images])

    @property
    def variant_indexes(self) -> list[int]:
        """The columns that describe the variant of a row."""
        fixed = [i for name, i in self.fixed.items() if FIXED_BY_KEY[name.lower()].entity == "variant"]
        values = [o.value_index for o in self.options if o.value_index is not None]
        return sorted([*fixed, *values, *(p.index for p in self.prices)])


def parse_header(cells: list[str]) -> Header:
    """Locate every column of a header row; problems (unknown, duplicated, missing columns) are collected."""
    names = [cell.strip() for cell in cells]
    header = Header(names=names)
    seen: dict[str, int] = {}
    option_names: dict[int, int] = {}
    option_values: dict[int, int] = {}
    images: dict[int, int] = {}
    for index, name in enumerate(names):
        if not name:
            continue
        key = name.lower()
        if key in seen:
            header.problems.append(Problem(name, "duplicate_column", f"column {name!r} appears twice"))
            continue
        seen[key] = index
        if key in FIXED_BY_KEY:
            header.fixed[FIXED_BY_KEY[key].name] = index
        elif match := OPTION_NAME.match(name):
            option_names[int(match.group(1))] = index
        elif match := OPTION_VALUE.match(name):
            option_values[int(match.group(1))] = index
        elif match := IMAGE_URL.match(name):
            images[int(match.group(1))] = index
        elif match := PRICE_REGION.match(name):
            _add_price(header, name, index, match.group(2), match.group(1).strip())
        elif match := PRICE_CURRENCY.match(name):
            _add_price(header, name, index, match.group(1), None)
        elif PRICE_ANY.match(name):
            header.problems.append(
                Problem(name, "invalid_price_column", f"{name!r} is not 'Price <CUR>' or 'Price <Region> [<CUR>]'")
            )
        elif not SALES_CHANNEL.match(name):
            header.problems.append(Problem(name, "unknown_column", f"unknown column {name!r}"))
    for number in sorted(set(option_names) | set(option_values)):
        if number not in option_names:
            header.problems.append(
                Problem(
                    f"Option {number} Value",
                    "missing_column",
                    f"'Option {number} Value' has no 'Option {number} Name' column",
                )
            )
        header.options.append(OptionColumns(number, option_names.get(number), option_values.get(number)))
    header.images = [images[n] for n in sorted(images)]
    for required in REQUIRED_COLUMNS:
        if required not in header.fixed:
            header.problems.append(Problem(required, "missing_column", f"the required column {required!r} is missing"))
    return header


def _add_price(header: Header, name: str, index: int, currency: str, region: str | None) -> None:
    if not is_currency(currency):
        header.problems.append(Problem(name, "unknown_currency", f"{currency.upper()!r} is not a currency code"))
        return
    header.prices.append(PriceColumn(index, currency.lower(), region))


# -- the export's header ----------------------------------------------------------------------------------------


def price_column_name(currency: str, region: str | None) -> str:
    """``Price EUR`` or ``Price Europe [EUR]``."""
    if region is None:
        return f"Price {currency.upper()}"
    return f"Price {region} [{currency.upper()}]"


def export_header(shape: dict[str, Any]) -> list[str]:
    """The header the export writes for a shape (its currencies, regions, option and image counts)."""
    names = [column.name for column in FIXED_COLUMNS]
    names += [price_column_name(currency, None) for currency in shape["currencies"]]
    names += [price_column_name(currency, region) for region, currency in shape["regions"]]
    for number in range(1, int(shape["options"]) + 1):
        names += [f"Option {number} Name", f"Option {number} Value"]
    names += [f"Image {number} Url" for number in range(1, int(shape["images"]) + 1)]
    return names
