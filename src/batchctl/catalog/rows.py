"""Reading data rows of a product CSV into typed values, with the problems each row shows on its own.

Rows are read a chunk at a time and column by column: each column's cells go through one converter
in a tight loop (the common cells take a fast path), which is several times faster than converting
row by row. What needs the rest of the file or the catalog (duplicates, create or update) is checked
in ``import_check``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchctl.catalog.columns import FIXED_BY_KEY, Column, Header, PriceColumn, Problem
from batchctl.catalog.csv_format import (
    NO_DIVISION_CURRENCIES,
    BadRecord,
    CellError,
    Record,
    parse_amount,
    parse_bool,
    parse_int,
    unguard,
)
from batchctl.catalog.products import PRODUCT_STATUSES

TAG_MAX_LENGTH = 200
OPTION_TITLE_MAX_LENGTH = 200
OPTION_VALUE_MAX_LENGTH = 500
_BOOLS = {"true": True, "false": False, "TRUE": True, "FALSE": False, "True": True, "False": False}
_STATUSES = frozenset(PRODUCT_STATUSES)

Cells = Sequence[str]
Converted = tuple[list[Any], list[tuple[int, str]]]  # values, and (position in chunk, message) problems


@dataclass(slots=True)
class ParsedRow:
    """A data row as typed values. ``None`` in ``product``/``variant`` is an empty cell."""

    row: int
    handle: str | None = None
    product_id: str | None = None
    product: dict[str, Any] = field(default_factory=dict)
    collection: tuple[str | None, str | None] | None = None  # (handle, title) when either column is present
    type_value: str | None = None
    tags: list[str] | None = None  # None: no Product Tags column
    option_names: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    variant_id: str | None = None
    variant: dict[str, Any] = field(default_factory=dict)
    option_values: list[tuple[str, str]] = field(default_factory=list)  # (option title, value)
    prices: list[tuple[PriceColumn, int | None]] = field(default_factory=list)
    has_variant: bool = False
    product_cells: tuple[str, ...] = ()
    problems: list[Problem] = field(default_factory=list)
    # The product's first good row carries its data; the import writes the product from that row only.
    first: bool = True


# -- column converters ------------------------------------------------------------------------------------------


def _text_column(cells: Cells, limit: int | None) -> Converted:
    values = [None if not c or c.isspace() else (unguard(c) if c[0] == "'" else c) for c in cells]
    problems: list[tuple[int, str]] = []
    if limit is not None and max(map(len, cells), default=0) > limit:
        problems = [
            (i, f"is {len(v)} characters long; the most is {limit}")
            for i, v in enumerate(values)
            if v and len(v) > limit
        ]
    return values, problems


_SLOW = object()  # a cell the fast path of a column converter leaves to the careful one


def _int_column(cells: Cells, minimum: int | None) -> Converted:
    values: list[Any] = [
        int(c) if c.isdigit() and c.isascii() and len(c) < 10 else (None if not c or c.isspace() else _SLOW)
        for c in cells
    ]
    problems: list[tuple[int, str]] = []
    if _SLOW in values:
        for i, value in enumerate(values):
            if value is _SLOW:
                try:
                    values[i] = parse_int(unguard(cells[i]), minimum=minimum)
                except CellError as error:
                    values[i] = None
                    problems.append((i, str(error)))
    return values, problems


def _bool_column(cells: Cells) -> Converted:
    values: list[Any] = []
    problems: list[tuple[int, str]] = []
    for i, c in enumerate(cells):
        value = _BOOLS.get(c)
        if value is None and c.strip():
            try:
                value = parse_bool(c)
            except CellError as error:
                problems.append((i, str(error)))
        values.append(value)
    return values, problems


def _status_column(cells: Cells) -> Converted:
    values: list[Any] = []
    problems: list[tuple[int, str]] = []
    for i, c in enumerate(cells):
        value = c if c in _STATUSES else c.strip().lower() or None
        if value is not None and value not in _STATUSES:
            problems.append((i, f"{c!r} is not a product status; use one of: {', '.join(PRODUCT_STATUSES)}"))
            value = None
        values.append(value)
    return values, problems


def _tags_column(cells: Cells) -> Converted:
    values: list[Any] = []
    problems: list[tuple[int, str]] = []
    for i, c in enumerate(cells):
        tags: list[str] = []
        for part in (unguard(c) if c[:1] == "'" else c).split(","):
            tag = part.strip()
            if tag and tag not in tags:
                tags.append(tag)
        if any(len(tag) > TAG_MAX_LENGTH for tag in tags):
            problems.append((i, f"a tag is longer than {TAG_MAX_LENGTH} characters"))
        values.append(tags)
    return values, problems


def _cents(cell: str) -> Any:
    """``12``, ``12.5`` or ``12.50`` as 1200, 1250, 1250; anything else to the careful path."""
    whole, dot, fraction = cell.partition(".")
    if whole.isdigit() and whole.isascii() and len(whole) < 16:
        if not dot:
            return int(whole) * 100
        if fraction.isdigit() and fraction.isascii() and len(fraction) <= 2:
            return int(whole) * 100 + int(fraction.ljust(2, "0"))
    return None if not cell or cell.isspace() else _SLOW


def _amount_column(cells: Cells, currency: str) -> Converted:
    if currency in NO_DIVISION_CURRENCIES:
        values: list[Any] = [None if not c or c.isspace() else _SLOW for c in cells]
    else:
        values = [_cents(c) for c in cells]
    problems: list[tuple[int, str]] = []
    if _SLOW in values:
        for i, value in enumerate(values):
            if value is _SLOW:
                try:
                    values[i] = parse_amount(unguard(cells[i]), currency)
                except CellError as error:
                    values[i] = None
                    problems.append((i, str(error)))
    return values, problems


def _converter(column: Column) -> Callable[[Cells], Converted]:
    kind = column.kind
    if kind in ("uint", "int"):
        minimum = 0 if kind == "uint" else None
        return lambda cells: _int_column(cells, minimum)
    if kind == "bool":
        return _bool_column
    if kind == "status":
        return _status_column
    if kind == "tags":
        return _tags_column
    return lambda cells: _text_column(cells, column.max_length)


def _code(column: Column) -> str:
    return {
        "uint": "invalid_number",
        "int": "invalid_number",
        "bool": "invalid_boolean",
        "status": "invalid_status",
    }.get(column.kind, "too_long")


# -- whole rows -------------------------------------------------------------------------------------------------


class RowParser:
    """Turns chunks of data rows into ParsedRows for one file's header."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self.width = len(header.names)
        fixed = [(index, FIXED_BY_KEY[name.lower()]) for name, index in header.fixed.items()]
        self._fixed = [(index, column, _converter(column)) for index, column in fixed if column.kind != "ignored"]
        self._product_indexes = header.product_indexes
        self._variant_indexes = header.variant_indexes
        self._has_collection = header.has("Product Collection Title") or header.has("Product Collection Handle")
        # The keys of ParsedRow.product/.variant, in the order parse_chunk fills them.
        attributes = {"id", "handle", "type", "tags", "collection_title", "collection_handle"}
        fields = [(c.entity, c.field) for _, c, _ in self._fixed if c.field is not None]
        self._product_keys = [f for entity, f in fields if entity == "product" and f not in attributes]
        self._variant_keys = [f for entity, f in fields if entity == "variant" and f != "id"]
        self._price_index = {price: index for index, price in enumerate(header.prices)}

    def to_record(self, row: ParsedRow) -> tuple[Any, ...]:
        """A good row as plain data, for the spool between checking and importing (marshal-able, compact).

        Only a product's first row keeps the product's data: the others are the same, by the check.
        """
        prices = [(self._price_index[price], amount) for price, amount in row.prices if amount is not None]
        variant = tuple(row.variant.values())
        if not row.first:
            return (row.row, row.handle, row.product_id, row.variant_id, variant, row.option_values, prices,
                    row.has_variant)  # fmt: skip
        return (
            row.row, row.handle, row.product_id, row.variant_id, variant, row.option_values, prices, row.has_variant,
            tuple(row.product.values()), row.collection, row.type_value, row.tags, row.option_names, row.images,
        )  # fmt: skip

    def from_record(self, record: Sequence[Any]) -> ParsedRow:
        """Undo ``to_record`` (marshal gives tuples back as tuples)."""
        columns = self.header.prices
        row, handle, pid, vid, variant, values, prices, has = record[:8]
        parsed = ParsedRow(
            row, handle, pid, {}, None, None, None, [], [], vid, dict(zip(self._variant_keys, variant, strict=True)),
            values, [(columns[i], amount) for i, amount in prices], has, (), [], len(record) > 8,
        )  # fmt: skip
        if parsed.first:
            product, parsed.collection, parsed.type_value, parsed.tags, parsed.option_names, parsed.images = record[8:]
            parsed.product = dict(zip(self._product_keys, product, strict=True))
        return parsed

    def parse_chunk(self, records: Sequence[Record]) -> list[ParsedRow]:
        """Data rows, in order; problems are collected on each ParsedRow, never raised."""
        width = self.width
        count = len(records)
        problems: list[list[Problem]] = [[] for _ in range(count)]
        rows: list[list[str]] = []
        unread: list[tuple[int, BadRecord]] = []  # records too big to read: their one problem, nothing else
        for position, (_, cells) in enumerate(records):
            if isinstance(cells, BadRecord):
                unread.append((position, cells))
                cells = [""] * width
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            elif len(cells) > width:
                if any(cell.strip() for cell in cells[width:]):
                    problems[position].append(
                        Problem("", "row_length", f"the row has {len(cells)} cells but the header has {width} columns")
                    )
                cells = cells[:width]
            if "\x00" in "".join(cells):
                problems[position].append(
                    Problem("", "invalid_character", "the row holds a NUL character, which a database cannot store")
                )
            rows.append(cells)
        columns: list[tuple[str, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
        converted: dict[tuple[str, str], list[Any]] = {}
        for index, column, convert in self._fixed:
            values, found = convert(columns[index])
            for position, message in found:
                problems[position].append(Problem(column.name, _code(column), f"{column.name}: {message}"))
            converted[(column.entity, column.field or "")] = values
        nothing: list[Any] = [None] * count

        def product(field: str) -> list[Any]:
            return converted.get(("product", field), nothing)

        handles = product("handle")
        if "Product Handle" in self.header.fixed:
            for position, handle in enumerate(handles):
                if handle is None:
                    problems[position].append(
                        Problem("Product Handle", "missing_value", "Product Handle is empty; every row needs one")
                    )
        product_values = _dicts(self._product_keys, [product(key) for key in self._product_keys], count)
        variant_values = _dicts(self._variant_keys, [converted[("variant", key)] for key in self._variant_keys], count)
        collections: list[Any] = (
            list(zip(product("collection_handle"), product("collection_title"), strict=True))
            if self._has_collection
            else nothing
        )
        tags = converted.get(("product", "tags"), nothing)
        option_names, option_values = self._read_options(columns, problems)
        images = self._read_images(columns, count)
        prices = self._read_prices(columns, problems)
        if self._product_indexes:
            product_cells = list(zip(*[columns[i] for i in self._product_indexes], strict=True))
        else:
            product_cells = [()] * count
        has_variant = [False] * count
        if self._variant_indexes:
            has_variant = [
                any(cells) and any(cell.strip() for cell in cells)
                for cells in zip(*[columns[i] for i in self._variant_indexes], strict=True)
            ]
        for position, bad in unread:
            problems[position][:] = [Problem("", bad.code, bad.message)]
        return [
            ParsedRow(*fields)
            for fields in zip(
                [number for number, _ in records], handles, product("id"), product_values, collections,
                product("type"), tags, option_names, images, converted.get(("variant", "id"), nothing),
                variant_values, option_values, prices, has_variant, product_cells, problems,
                strict=True,
            )
        ]  # fmt: skip

    def _read_options(
        self, columns: list[tuple[str, ...]], problems: list[list[Problem]]
    ) -> tuple[list[list[str]], list[list[tuple[str, str]]]]:
        """Each row's option names (product) and (name, value) pairs (variant)."""
        count = len(problems)
        all_names: list[list[str]] = [[] for _ in range(count)]
        all_values: list[list[tuple[str, str]]] = [[] for _ in range(count)]
        for option in self.header.options:
            number = option.number
            names, _ = _text_column(columns[option.name_index], None) if option.name_index is not None else ([], [])
            values, _ = _text_column(columns[option.value_index], None) if option.value_index is not None else ([], [])
            for position in range(count):
                name = names[position].strip() if names and names[position] is not None else None
                value = values[position] if values else None
                row_names = all_names[position]
                if name is not None:
                    if len(name) > OPTION_TITLE_MAX_LENGTH:
                        problems[position].append(
                            Problem(f"Option {number} Name", "too_long", f"Option {number} Name is too long")
                        )
                    elif name in row_names:
                        problems[position].append(
                            Problem(
                                f"Option {number} Name",
                                "duplicate_option",
                                f"Option {number} Name: {name!r} is named twice",
                            )
                        )
                    else:
                        row_names.append(name)
                if value is None:
                    continue
                if name is None:
                    problems[position].append(
                        Problem(
                            f"Option {number} Value",
                            "option_without_name",
                            f"Option {number} Value {value!r} has no option: Option {number} Name is empty",
                        )
                    )
                elif len(value) > OPTION_VALUE_MAX_LENGTH:
                    problems[position].append(
                        Problem(f"Option {number} Value", "too_long", f"Option {number} Value is too long")
                    )
                else:
                    all_values[position].append((name, value))
        return all_names, all_values

    def _read_images(self, columns: list[tuple[str, ...]], count: int) -> list[list[str]]:
        if not self.header.images:
            return [[] for _ in range(count)]
        urls = [_text_column(columns[index], None)[0] for index in self.header.images]
        return [[url for url in row if url is not None] for row in zip(*urls, strict=True)]

    def _read_prices(
        self, columns: list[tuple[str, ...]], problems: list[list[Problem]]
    ) -> list[list[tuple[PriceColumn, int | None]]]:
        count = len(problems)
        if not self.header.prices:
            return [[] for _ in range(count)]
        amounts_by_column = []
        for price in self.header.prices:
            name = self.header.names[price.index]
            amounts, found = _amount_column(columns[price.index], price.currency)
            for position, message in found:
                problems[position].append(Problem(name, "invalid_amount", f"{name}: {message}"))
            amounts_by_column.append(amounts)
        prices = self.header.prices
        return [list(zip(prices, amounts, strict=True)) for amounts in zip(*amounts_by_column, strict=True)]


def _dicts(keys: list[str], columns: list[list[Any]], count: int) -> list[dict[str, Any]]:
    """One dict per row from per-key columns of values."""
    if not keys:
        return [{} for _ in range(count)]
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]
