"""Medusa's product CSV at the cell level: the dialect, value codecs and the formula-injection guard.

Medusa writes ``;``-separated lines ending in CRLF, booleans as ``true``/``false``, prices in the
currency's main unit (``12.5`` for 1250 cents). Cells are read and written as text; the typed
converters here raise ``CellError`` with a message that names the problem, not the row (the caller
knows the row).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

DELIMITER = ";"
NEWLINE = "\r\n"
# What a spreadsheet may run as a formula when a cell starts with it (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
GUARD_FIRST = frozenset((*FORMULA_TRIGGERS, GUARD))

# Medusa's currencies without a minor unit (medusa-core-utils noDivisionCurrencies): amounts are stored as is.
NO_DIVISION_CURRENCIES = frozenset(
    "krw jpy vnd clp pyg xaf xof bif djf gnf kmf mga rwf xpf htg vuv xag xdr xau".split()
)
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class CellError(ValueError):
    """A cell's text is not a value of the column's kind; the message says why."""


def guard(text: str) -> str:
    """Make a cell safe to open in a spreadsheet: prefix ``'`` when it would start a formula.

    Plain numbers (``-5``, ``+3.5``) are left alone: they are not formulas, and a quote would break
    them for every other reader. Text that already starts with quotes before a trigger gets one more,
    so that ``unguard`` gives back exactly what was written.
    """
    if not text or _PLAIN_NUMBER.match(text):
        return text
    if text.lstrip(GUARD)[:1] in FORMULA_TRIGGERS and text.lstrip(GUARD):
        return GUARD + text
    return text


def unguard(text: str) -> str:
    """Undo ``guard``: drop the one ``'`` it put before a formula trigger."""
    if text[:1] == GUARD:
        rest = text.lstrip(GUARD)
        if rest and rest[0] in FORMULA_TRIGGERS and not _PLAIN_NUMBER.match(rest):
            return text[1:]
    return text


# -- writing values -------------------------------------------------------------------------------------------


def format_amount(amount: int, currency: str) -> str:
    """An amount in minor units as Medusa's export writes it: the main unit, no trailing zeros."""
    if currency.lower() in NO_DIVISION_CURRENCIES:
        return str(amount)
    whole, cents = divmod(abs(amount), 100)
    sign = "-" if amount < 0 else ""
    if cents == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{cents:02d}".rstrip("0")


# -- reading values -------------------------------------------------------------------------------------------


def parse_bool(text: str) -> bool:
    """``true``/``false`` (also yes/no, 1/0, any case)."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise CellError(f"{text!r} is not a boolean; use true or false")


def parse_int(text: str, *, minimum: int | None = None) -> int:
    """A whole number (``12``, ``-3``; ``12.0`` is accepted as 12)."""
    stripped = text.strip()
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        raise CellError(f"{text!r} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise CellError(f"{text!r} is not a whole number")
    value = int(number)
    if minimum is not None and value < minimum:
        raise CellError(f"{text!r} must be {minimum} or more")
    if abs(value) > 2**31 - 1:
        raise CellError(f"{text!r} is too large")
    return value


def parse_amount(text: str, currency: str) -> int:
    """A price in the currency's main unit (``12.50``) as minor units (1250), like Medusa's import."""
    stripped = text.strip()
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        raise CellError(f"{text!r} is not an amount; write it like 12.50") from None
    if not number.is_finite():
        raise CellError(f"{text!r} is not an amount; write it like 12.50")
    if number < 0:
        raise CellError(f"{text!r} is negative; a price is 0 or more")
    factor = 1 if currency.lower() in NO_DIVISION_CURRENCIES else 100
    minor = number * factor
    if minor != minor.to_integral_value():
        places = "no decimals" if factor == 1 else "at most 2 decimals"
        raise CellError(f"{text!r} has too many decimals for {currency.upper()} ({places})")
    if minor > 2**63 - 1:
        raise CellError(f"{text!r} is too large")
    return int(minor)


# -- files ----------------------------------------------------------------------------------------------------


def new_writer(out: IO[str]) -> Any:
    """A csv writer for Medusa's dialect (``;``, CRLF, quotes only where needed)."""
    return csv.writer(out, delimiter=DELIMITER, lineterminator=NEWLINE, quoting=csv.QUOTE_MINIMAL)


def encode_rows(rows: list[list[str]]) -> bytes:
    """Rows as UTF-8 bytes in Medusa's dialect."""
    buffer = io.StringIO()
    new_writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def sniff_delimiter(header_line: str) -> str:
    """``;`` (Medusa's), unless the header is plainly comma-separated (a spreadsheet's default)."""
    return "," if header_line.count(",") > header_line.count(";") else DELIMITER


def read_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Stream a CSV file as (row number, cells), numbered as a spreadsheet shows them: the header is row 1.

    Blank lines are skipped but keep their numbers (a spreadsheet shows them as empty rows). A BOM is
    ignored. Raises CellError on bytes that are not UTF-8 or on a broken quote, naming the row.
    """
    with path.open("rb") as source:
        yield from read_records_from(source)


def read_records_from(source: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """``read_records`` of a file already open for reading in binary (the file store hands out such files)."""
    number = 0
    with io.TextIOWrapper(source, encoding="utf-8-sig", newline="") as handle:
        try:
            first = handle.readline()
            reader = csv.reader(itertools.chain([first], handle), delimiter=sniff_delimiter(first), strict=True)
            for cells in reader:
                number += 1
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                yield number, cells
        except UnicodeDecodeError as error:
            raise CellError(f"row {number + 1}: the file is not UTF-8 text ({error.reason})") from None
        except csv.Error as error:
            raise CellError(f"row {number + 1}: the file is not valid CSV ({error})") from None
