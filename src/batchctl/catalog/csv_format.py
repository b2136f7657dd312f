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
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

DELIMITER = ";"
NEWLINE = "\r\n"
# What a spreadsheet may run as a formula when a cell starts with it (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
# Matched whole, ASCII digits only (``$`` would match before a final newline, ``\d`` any script's digits).
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
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
    """Make a cell safe to open in a spreadsheet: prefix one ``'`` when it starts with a formula trigger or ``'``.

    This is the exact inverse of ``unguard``, which always drops one leading ``'``: a cell that already
    starts with ``'`` gets one more, so ``''x`` is written ``'''x`` and read back as ``''x``. Plain numbers
    (``-5``, ``+3.5``) are left alone: they are not formulas, a quote would break them for every other
    reader, and as they never start with ``'``, ``unguard`` leaves them alone too.
    """
    if text[:1] in GUARD_FIRST and not _PLAIN_NUMBER.fullmatch(text):
        return GUARD + text
    return text


def unguard(text: str) -> str:
    """Undo ``guard``: a cell starting with ``'`` loses exactly one ``'`` (a spreadsheet's "this is text" mark)."""
    return text[1:] if text[:1] == GUARD else text


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


# What one record of a file may take: its physical lines together (a quoted field's line breaks count), and
# its cells. Without them a single 44 MB line of 5 million cells took a worker to 2 GB; with them a record
# never holds more than about 1 MiB of text, and a cell list never more than MAX_CELLS (plus the record
# that goes over, which is at most MAX_RECORD_CHARS short cells of CPython's shared one-character strings).
MAX_RECORD_CHARS = 1 << 20
MAX_CELLS = 1000
_SKIP_PIECE = 1 << 16  # how much of an over-long record is read at a time while it is skipped


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that was not kept, because it is too long or has too many cells: its row's one error."""

    code: str
    message: str


Record = tuple[int, list[str] | BadRecord]  # (row number, its cells, or why they were not read)


@dataclass(slots=True)
class ReadMeter:
    """How many characters a reader has taken from its file so far, for a caller that bounds what it holds."""

    chars: int = 0


class _RecordTooLong(Exception):
    """Raised by _BoundedLines (through csv.reader) when a record goes over its character budget."""


class _NotUtf8(Exception):
    """Raised by _BoundedLines on the first line holding bytes that are not UTF-8; ``args[0]``: the message."""


# The file is decoded with "surrogateescape": a byte that is not UTF-8 becomes a lone surrogate (which a
# strict decoder never makes, and which cannot be encoded back), found on its own line. A strict decoder
# fails a whole 8 KiB block ahead of it, which named a row hundreds of lines early.
_UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")


class _BoundedLines:
    """The file's physical lines for csv.reader, never more than ``limit`` characters of one record in memory.

    The reader pulls exactly the lines of one record before it returns it; ``start_record`` is then
    called and the count starts again. The count is of the record's characters but its final line
    break. A line that would take the record over ``limit`` is read only up to a few characters over it
    and raises _RecordTooLong out of the reader (which starts afresh at its next call); ``skip_record``
    then reads and drops the rest of the record, a bounded piece at a time.
    """

    def __init__(self, handle: IO[str], limit: int, meter: ReadMeter) -> None:
        self._readline = handle.readline
        self.meter = meter
        self.limit = limit
        self.used = 0  # characters of the current record read so far
        self.quotes = 0  # quote marks among them
        self.last = ""  # the last piece read
        self._after_cr = False  # a skipped record ended in "\r": a lone "\n" next is the rest of its CRLF

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        # Room for the limit and a CRLF, and one more character to see it is over; never <= 0 (no limit).
        line = self._readline(self.limit + 3 - self.used)
        if self._after_cr:
            self._after_cr = False
            if line == "\n":
                line = self._readline(self.limit + 3 - self.used)
        if not line:
            raise StopIteration
        self.last = line
        self.used += len(line)
        self.meter.chars += len(line)
        self.quotes += line.count('"')
        if not line.isascii():
            try:
                line.encode()  # much faster than searching for the surrogates
            except UnicodeEncodeError as error:
                if line.startswith(_UTF16_BOMS):
                    raise _NotUtf8("the file is UTF-16 text, not UTF-8; save it as UTF-8") from None
                byte = ord(line[error.start]) - 0xDC00
                raise _NotUtf8(f"the file is not UTF-8 text (byte 0x{byte:02X}); save it as UTF-8") from None
        if self.used - _line_break(line) > self.limit:  # a quoted field's line breaks count, the last one not
            raise _RecordTooLong
        return line

    def start_record(self) -> None:
        self.used = self.quotes = 0

    def skip_record(self) -> int:
        """Read past the rest of the record that went over; returns its whole length in characters.

        The record ends at the first line break after an even number of quote marks, outside a quoted
        field (whose own quotes are doubled) in any CSV writer's output. A file with stray quotes in
        unquoted cells may be resynchronised a line off; its rows are then errors, and memory stays bounded.
        """
        length, piece = self.used, self.last
        while not (piece[-1:] in ("\n", "\r") and self.quotes % 2 == 0):
            piece = self._readline(_SKIP_PIECE)
            if not piece:
                break
            length += len(piece)
            self.quotes += piece.count('"')
        self._after_cr = piece[-1:] == "\r"
        self.start_record()
        return length - _line_break(piece)


def _line_break(piece: str) -> int:
    """How many characters of ``piece`` are its line break (0, 1 or 2)."""
    return 2 if piece[-2:] == "\r\n" else 1 if piece[-1:] in ("\r", "\n") else 0


def read_records(path: Path, meter: ReadMeter | None = None) -> Iterator[Record]:
    """Stream a CSV file as (row number, cells), numbered as a spreadsheet shows them: the header is row 1.

    Blank lines are skipped but keep their numbers (a spreadsheet shows them as empty rows). A BOM is
    ignored. A record over MAX_RECORD_CHARS or MAX_CELLS comes as a BadRecord in place of its cells.
    Raises CellError on bytes that are not UTF-8 or on a broken quote, naming the row.
    """
    with path.open("rb") as source:
        yield from read_records_from(source, meter)


def read_records_from(source: IO[bytes], meter: ReadMeter | None = None) -> Iterator[Record]:
    """``read_records`` of a file already open for reading in binary (the file store hands out such files)."""
    # surrogateescape: a byte that is not UTF-8 reaches read_stream, which names its exact row.
    with io.TextIOWrapper(source, encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        yield from read_stream(handle, meter=meter)


def read_stream(
    handle: IO[str],
    *,
    max_chars: int = MAX_RECORD_CHARS,
    max_cells: int = MAX_CELLS,
    meter: ReadMeter | None = None,
) -> Iterator[Record]:
    """``read_records`` of an open text file (opened with ``newline=""`` and, to name the row of a byte that
    is not UTF-8, ``errors="surrogateescape"``)."""
    if csv.field_size_limit() < max_chars:
        csv.field_size_limit(max_chars)  # one cell may take its whole record (the default is 128 KiB)
    lines = _BoundedLines(handle, max_chars, meter or ReadMeter())
    number = 0
    try:
        try:
            first = next(lines, "")
        except _RecordTooLong:
            first = ""
            number += 1
            yield number, _too_long(lines.skip_record(), max_chars)
        delimiter = sniff_delimiter(first or lines.last)
        reader = csv.reader(itertools.chain([first], lines) if first else lines, delimiter=delimiter, strict=True)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except _RecordTooLong:
                number += 1
                yield number, _too_long(lines.skip_record(), max_chars)
                continue
            number += 1
            lines.start_record()
            if len(cells) > max_cells:
                message = f"the row has {len(cells):,} cells; at most {max_cells:,} are allowed"
                yield number, BadRecord("too_many_cells", message)
            elif cells and (len(cells) > 1 or cells[0].strip()):
                yield number, cells
    except _NotUtf8 as error:
        raise CellError(f"row {number + 1}: {error.args[0]}") from None
    except UnicodeDecodeError as error:  # a handle opened without surrogateescape
        raise CellError(f"row {number + 1}: the file is not UTF-8 text ({error.reason})") from None
    except csv.Error as error:
        raise CellError(f"row {number + 1}: the file is not valid CSV ({error})") from None


def _too_long(length: int, limit: int) -> BadRecord:
    return BadRecord("row_too_long", f"the row is {length:,} characters long; at most {limit:,} are allowed")
