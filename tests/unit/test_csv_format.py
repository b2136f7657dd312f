"""Medusa's product CSV without a database: cell codecs, the formula guard, headers, rows and file reading."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from batchctl.catalog.columns import FIXED_COLUMNS, Problem, export_header, parse_header
from batchctl.catalog.csv_format import (
    MAX_CELLS,
    MAX_RECORD_CHARS,
    BadRecord,
    CellError,
    ReadMeter,
    encode_rows,
    format_amount,
    guard,
    parse_amount,
    parse_bool,
    parse_int,
    read_records,
    read_stream,
    unguard,
)
from batchctl.catalog.import_check import MAX_ERRORS, Summary
from batchctl.catalog.import_strategy import ProductImportStrategy
from batchctl.catalog.rows import RowParser

DATA = Path(__file__).resolve().parent.parent / "data"
# The header of Medusa v1's own import template (its admin's "Download template"), verbatim.
MEDUSA_TEMPLATE_HEADER = (
    "Product Id;Product Handle;Product Title;Product Subtitle;Product Description;Product Status;Product Thumbnail;"
    "Product Weight;Product Length;Product Width;Product Height;Product HS Code;Product Origin Country;"
    "Product MID Code;Product Material;Product Collection Title;Product Collection Handle;Product Type;Product Tags;"
    "Product Discountable;Product External Id;Product Profile Name;Product Profile Type;Variant Id;Variant Title;"
    "Variant SKU;Variant Barcode;Variant Inventory Quantity;Variant Allow Backorder;Variant Manage Inventory;"
    "Variant Weight;Variant Length;Variant Width;Variant Height;Variant HS Code;Variant Origin Country;"
    "Variant MID Code;Variant Material;Price EUR;Price USD;Option 1 Name;Option 1 Value;Image 1 Url;Image 2 Url"
)


# -- the formula guard ---------------------------------------------------------------------------------------------

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Text made mostly of what the guard looks at, so that hypothesis tries '-5, ''=x, '' and their kin often.
TRICKY_TEXT = st.text(alphabet=st.sampled_from("'=+-@\t\r\n\x00 .059xé٣\ufeff\";,"))
# Quotes, then a trigger or not, then a number or anything: the shapes where guard and unguard could disagree.
SHAPED_TEXT = st.builds(
    lambda quotes, start, rest: quotes + start + rest,
    st.text(alphabet="'", max_size=3),
    st.sampled_from(["", *TRIGGERS]),
    st.one_of(st.from_regex(r"[+-]?[0-9]+(\.[0-9]+)?", fullmatch=True), TRICKY_TEXT, st.text()),
)
ANY_TEXT = st.one_of(st.text(), TRICKY_TEXT, SHAPED_TEXT)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-cmd|calc", "'-cmd|calc"),
        ("-", "'-"),
        ("@a", "'@a"),
        ("\tindented", "'\tindented"),
        ("\rreturn", "'\rreturn"),
        ("'=already quoted", "''=already quoted"),
        ("'-5", "''-5"),  # the bug: this came back as ''-5, one more quote per round trip
        ("''x", "'''x"),
        ("'", "''"),
        ("'quoted text", "''quoted text"),  # every leading quote gets one more, trigger or not
        ("-5", "-5"),  # a plain number is not a formula, and other readers need it as it is
        ("+3.25", "+3.25"),
        ("-5\n", "'-5\n"),  # not a plain number: the whole cell must be one
        ("-٣", "'-٣"),  # nor are other scripts' digits
        ("plain", "plain"),
        ("x'", "x'"),
        ("", ""),
    ],
)
def test_guard_neutralises_formula_starts_and_nothing_else(value: str, cell: str) -> None:
    assert guard(value) == cell
    assert unguard(cell) == value


@given(ANY_TEXT)
@example("'-5")  # the reported bug, always tried: random text seldom is a quote before a plain number
@example("''+3.5")
def test_unguard_undoes_guard_for_any_text(value: str) -> None:
    assert unguard(guard(value)) == value


@given(ANY_TEXT)
def test_a_guarded_cell_never_starts_a_formula(value: str) -> None:
    cell = guard(value)
    # The one exception, on purpose: a plain number such as -5 or +3.25 (a spreadsheet reads it as a number).
    plain_number = re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", cell) is not None
    assert cell[:1] not in TRIGGERS or plain_number
    assert cell in (value, "'" + value)  # at most one quote is added


@given(ANY_TEXT.filter(lambda v: v.strip() != "" and "\x00" not in v))
@example("'-5")
@example("'")
def test_any_text_survives_guard_csv_and_the_row_parser(value: str) -> None:
    # What the export writes (guarded, in Medusa's dialect) and what the import reads back: the same text.
    data = encode_rows([["Product Handle", "Product Description"], ["mug", guard(value)]]).decode()
    header, row = list(read_stream(io.StringIO(data, newline="")))
    assert isinstance(header[1], list)
    [parsed] = RowParser(parse_header(header[1])).parse_chunk([row])
    assert parsed.problems == []
    assert parsed.product["description"] == value


# -- values --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(1250, "eur", "12.5"), (1200, "usd", "12"), (1205, "eur", "12.05"), (0, "eur", "0"), (1250, "jpy", "1250")],
)
def test_amounts_are_written_like_medusa_and_read_back(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text
    assert parse_amount(text, currency) == minor


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["eur", "usd", "jpy", "krw", "gbp"]))
def test_every_amount_survives_format_then_parse(minor: int, currency: str) -> None:
    assert parse_amount(format_amount(minor, currency), currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "problem"),
    [
        ("12,50", "eur", "is not an amount"),
        ("-1", "eur", "negative"),
        ("1.005", "eur", "too many decimals for EUR (at most 2 decimals)"),
        ("10.5", "jpy", "too many decimals for JPY (no decimals)"),
        ("NaN", "eur", "is not an amount"),
    ],
)
def test_bad_amounts_say_what_is_wrong(text: str, currency: str, problem: str) -> None:
    with pytest.raises(CellError, match=re.escape(problem)):
        parse_amount(text, currency)


def test_booleans_and_whole_numbers() -> None:
    assert [parse_bool(t) for t in ("true", "FALSE", "yes", "0")] == [True, False, True, False]
    with pytest.raises(CellError, match="'maybe' is not a boolean"):
        parse_bool("maybe")
    assert parse_int("12") == 12 and parse_int("12.0") == 12 and parse_int("-3") == -3
    with pytest.raises(CellError, match="not a whole number"):
        parse_int("1.5")
    with pytest.raises(CellError, match="must be 0 or more"):
        parse_int("-1", minimum=0)


# -- headers -------------------------------------------------------------------------------------------------------


def test_medusa_s_template_header_is_read_without_problems() -> None:
    header = parse_header(MEDUSA_TEMPLATE_HEADER.split(";"))
    assert header.problems == []
    assert len(header.fixed) == len(FIXED_COLUMNS)
    assert [(p.currency, p.region) for p in header.prices] == [("eur", None), ("usd", None)]
    assert [(o.number, o.name_index is not None, o.value_index is not None) for o in header.options] == [
        (1, True, True)
    ]
    assert len(header.images) == 2


def test_header_names_are_matched_like_medusa_s_older_spellings() -> None:
    names = [
        "product handle",
        "Product External ID",
        "Variant Allow backorder",
        "Price Europe [eur]",
        "Sales channel 1 Name",
    ]
    header = parse_header(names)
    assert header.problems == []
    assert set(header.fixed) == {"Product Handle", "Product External Id", "Variant Allow Backorder"}
    assert [(p.currency, p.region) for p in header.prices] == [("eur", "Europe")]


def test_header_problems_are_named() -> None:
    header = parse_header(["Product Title", "Colour", "Price XYZ", "Price for EU", "Option 2 Value", "Product Title"])
    problems = {(p.column, p.code) for p in header.problems}
    assert problems == {
        ("Colour", "unknown_column"),
        ("Price XYZ", "unknown_currency"),
        ("Price for EU", "invalid_price_column"),
        ("Option 2 Value", "missing_column"),
        ("Product Title", "duplicate_column"),
        ("Product Handle", "missing_column"),
    }


def test_export_header_puts_prices_then_options_then_images_after_the_fixed_columns() -> None:
    shape = {"currencies": ["eur", "usd"], "regions": [["Europe", "eur"]], "options": 2, "images": 1}
    names = export_header(shape)
    assert names[: len(FIXED_COLUMNS)] == [c.name for c in FIXED_COLUMNS]
    assert names[len(FIXED_COLUMNS) :] == [
        "Price EUR",
        "Price USD",
        "Price Europe [EUR]",
        "Option 1 Name",
        "Option 1 Value",
        "Option 2 Name",
        "Option 2 Value",
        "Image 1 Url",
    ]


def test_the_template_is_medusa_s_header_plus_an_example_line() -> None:
    text = ProductImportStrategy().build_template()
    lines = text.split("\r\n")
    assert lines[0] == MEDUSA_TEMPLATE_HEADER
    assert lines[2:] == [""]  # one example line, CRLF-terminated
    [example] = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert example["Product Handle"] == "coffee-mug" and example["Price EUR"] == "10"


# -- rows ----------------------------------------------------------------------------------------------------------


def test_a_template_row_parses_into_typed_values() -> None:
    records = list(read_records(DATA / "medusa_template.csv"))
    header = records[0][1]
    assert isinstance(header, list)
    parser = RowParser(parse_header(header))
    mug, first_sweatpants = parser.parse_chunk(records[1:3])
    assert mug.problems == [] and first_sweatpants.problems == []
    assert mug.handle == "coffee-mug" and mug.product["weight"] == 400 and mug.product["discountable"] is True
    assert mug.variant["inventory_quantity"] == 100 and mug.variant["allow_backorder"] is False
    assert [(price.currency, price.region, amount) for price, amount in mug.prices] == [
        ("eur", None, 1000),
        ("usd", None, 1250),
        ("eur", "Europe", None),
    ]
    assert first_sweatpants.product["description"].startswith(
        'Reimagine the feeling of "classic" sweatpants; cotton,\n'
    )
    assert first_sweatpants.tags == ["cotton", "comfort"]
    assert first_sweatpants.collection == ("basics", "Basics")
    assert first_sweatpants.option_names == ["Size"] and first_sweatpants.option_values == [("Size", "S")]
    assert len(first_sweatpants.images) == 2


def test_row_problems_name_the_column_and_the_value() -> None:
    header = parse_header(
        ["Product Handle", "Product Weight", "Variant Allow Backorder", "Price EUR", "Option 1 Value"]
    )
    parser = RowParser(header)
    [row] = parser.parse_chunk([(7, ["", "heavy", "maybe", "1,5", "Red", "extra"])])
    found = {(p.column, p.code) for p in row.problems}
    assert found == {
        ("", "row_length"),
        ("Product Handle", "missing_value"),
        ("Product Weight", "invalid_number"),
        ("Variant Allow Backorder", "invalid_boolean"),
        ("Price EUR", "invalid_amount"),
        ("Option 1 Value", "option_without_name"),  # the file has no Option 1 Name column at all
    }
    assert row.row == 7


def test_a_nul_character_is_a_problem_of_its_row() -> None:
    parser = RowParser(parse_header(["Product Handle", "Product Title"]))
    good, bad = parser.parse_chunk([(2, ["mug", "Mug"]), (3, ["cup", "C\x00p"])])
    assert good.problems == []
    assert [(p.column, p.code) for p in bad.problems] == [("", "invalid_character")]


def test_short_rows_are_padded_and_spool_records_round_trip() -> None:
    header = parse_header(MEDUSA_TEMPLATE_HEADER.split(";"))
    parser = RowParser(header)
    [row] = parser.parse_chunk(
        [(2, ["", "mug", "Mug", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "a,b"])]
    )
    assert row.problems == [] and row.tags == ["a", "b"] and row.has_variant is False
    copy = parser.from_record(parser.to_record(row))
    assert (copy.handle, copy.product, copy.tags, copy.variant, copy.first) == (
        row.handle,
        row.product,
        row.tags,
        row.variant,
        True,
    )


# -- files ---------------------------------------------------------------------------------------------------------


def test_records_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes('\ufeffProduct Handle;Product Description\r\na;"two\r\nlines"\r\n\r\nb;plain\r\n'.encode())
    assert list(read_records(path)) == [
        (1, ["Product Handle", "Product Description"]),
        (2, ["a", "two\r\nlines"]),
        (4, ["b", "plain"]),
    ]


def test_a_comma_separated_file_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "commas.csv"
    path.write_text("Product Handle,Product Title\nmug,Mug\n", encoding="utf-8")
    assert [cells for _, cells in read_records(path)] == [["Product Handle", "Product Title"], ["mug", "Mug"]]


def test_bytes_that_are_not_utf8_are_refused_with_their_row(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("Product Handle\nok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(CellError, match=re.escape("row 3: the file is not UTF-8 text (byte 0xE9); save it as UTF-8")):
        list(read_records(path))


def test_a_byte_that_is_not_utf8_is_named_on_its_own_row_far_into_the_file(tmp_path: Path) -> None:
    # A strict decoder fails a whole block ahead: this named row 2691.
    path = tmp_path / "late.csv"
    rows = "".join(f"p{i};T{i}\r\n" for i in range(3000))
    path.write_bytes(f"Product Handle;Product Title\r\n{rows}".encode() + b"caf\xc3(;x\r\n")
    with pytest.raises(CellError, match=re.escape("row 3002: the file is not UTF-8 text (byte 0xC3)")):
        list(read_records(path))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "utf16.csv"
    bom = "" if encoding == "utf-16" else "\ufeff"  # the utf-16 codec writes its own
    path.write_bytes(f"{bom}Product Handle\r\nmug\r\n".encode(encoding))
    with pytest.raises(CellError, match=re.escape("row 1: the file is UTF-16 text, not UTF-8; save it as UTF-8")):
        list(read_records(path))


def test_encoded_rows_use_medusa_s_dialect() -> None:
    assert encode_rows([["a;b", 'say "hi"', "plain"], ["x", "", "y"]]) == b'"a;b";"say ""hi""";plain\r\nx;;y\r\n'


def test_the_errors_kept_are_capped_and_the_rest_counted() -> None:
    summary = Summary()
    for row in range(2, MAX_ERRORS + 7):
        summary.add_error(row, Problem("Variant SKU", "duplicate_sku", "taken"))
    assert summary.error_count == MAX_ERRORS + 5
    assert len(summary.errors) == MAX_ERRORS
    assert summary.errors[0] == {"row": 2, "code": "duplicate_sku", "message": "taken", "column": "Variant SKU"}


# -- bounds: a record's length and its cells -------------------------------------------------------------------


def _read(text: str, max_chars: int = MAX_RECORD_CHARS, max_cells: int = MAX_CELLS) -> list[tuple[int, Any]]:
    return list(read_stream(io.StringIO(text, newline=""), max_chars=max_chars, max_cells=max_cells))


def test_a_record_over_the_line_cap_is_a_row_error_and_the_rest_is_read() -> None:
    text = "Product Handle;Product Title\r\n" + "x;" * 50 + "\r\nmug;Mug\r\n"
    assert _read(text, max_chars=40) == [
        (1, ["Product Handle", "Product Title"]),
        (2, BadRecord("row_too_long", "the row is 100 characters long; at most 40 are allowed")),
        (3, ["mug", "Mug"]),
    ]


def test_a_quoted_field_s_line_breaks_count_toward_the_line_cap() -> None:
    # Each physical line is short; the record is long. The rest of the quoted field is skipped, not read as rows.
    field = '"' + "ab\r\n" * 30 + '";more'
    text = f'h;t\r\nshort;"one\r\ntwo"\r\nlong;{field}\r\nlast;row\r\n'
    assert _read(text, max_chars=40) == [
        (1, ["h", "t"]),
        (2, ["short", "one\r\ntwo"]),
        (
            3,
            BadRecord("row_too_long", f"the row is {len('long;' + field)} characters long; at most 40 are allowed"),
        ),
        (4, ["last", "row"]),
    ]


def test_a_row_with_too_many_cells_is_a_row_error() -> None:
    assert _read("h;t\r\n" + ";" * 20 + "\r\na;b\r\n", max_cells=10) == [
        (1, ["h", "t"]),
        (2, BadRecord("too_many_cells", "the row has 21 cells; at most 10 are allowed")),
        (3, ["a", "b"]),
    ]


def test_the_default_caps_are_a_mebibyte_and_a_thousand_cells() -> None:
    assert (MAX_RECORD_CHARS, MAX_CELLS) == (1 << 20, 1000)
    [(_, header), (_, wide), (_, long)] = _read("h\r\n" + ";" * 1000 + "\r\n" + "x" * (MAX_RECORD_CHARS + 1) + "\r\n")
    assert header == ["h"]
    assert wide == BadRecord("too_many_cells", "the row has 1,001 cells; at most 1,000 are allowed")
    assert long == BadRecord("row_too_long", "the row is 1,048,577 characters long; at most 1,048,576 are allowed")
    # A cell may take its whole record: more than csv's default field limit (128 KiB) is fine.
    [(_, _), (_, cells)] = _read("h;t\r\na;" + "y" * 500_000 + "\r\n")
    assert cells == ["a", "y" * 500_000]


def test_an_over_long_header_is_row_1_and_the_rows_after_it_keep_their_numbers() -> None:
    assert _read("h;" * 100 + "\r\nmug;Mug\r\n", max_chars=40) == [
        (1, BadRecord("row_too_long", "the row is 200 characters long; at most 40 are allowed")),
        (2, ["mug", "Mug"]),
    ]


def test_a_crlf_cut_in_two_while_skipping_is_one_line_break() -> None:
    # The skipped record's "\r" ends a piece of the skip; its "\n" must not become a blank row 3.
    long = "x" * (43 + (1 << 16) - 1)  # 43 characters are read first, then pieces of 64 Ki
    assert _read(f"h\r\n{long}\r\n\r\nnext\r\n", max_chars=40) == [
        (1, ["h"]),
        (2, BadRecord("row_too_long", f"the row is {len(long):,} characters long; at most 40 are allowed")),
        (4, ["next"]),  # row 3 is the blank line
    ]


def test_reading_a_huge_one_line_file_takes_bounded_memory(tmp_path: Path) -> None:
    # 5 million cells on one line (about 20 MB): the reader holds at most its 1 MiB cap of it at a time.
    path = tmp_path / "wide.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Product Handle;Product Title\r\n")
        for _ in range(50):
            out.write("ab;" * 100_000)
        out.write("\r\nmug;Mug\r\n")
    tracemalloc.start()
    try:
        rows = list(read_records(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [number for number, _ in rows] == [1, 2, 3]
    assert rows[1][1] == BadRecord(
        "row_too_long", "the row is 15,000,000 characters long; at most 1,048,576 are allowed"
    )
    assert peak < 16 * 2**20  # the old reader built a list of 5 million strings: hundreds of MB


def test_a_record_too_big_to_read_is_its_row_s_one_problem() -> None:
    parser = RowParser(parse_header(["Product Handle", "Product Title"]))
    bad, good = parser.parse_chunk([(2, BadRecord("too_many_cells", "the row has 5,000 cells")), (3, ["mug", "Mug"])])
    assert [(p.column, p.code, p.message) for p in bad.problems] == [("", "too_many_cells", "the row has 5,000 cells")]
    assert bad.row == 2 and bad.handle is None
    assert good.problems == [] and good.handle == "mug"


def test_a_record_of_exactly_the_cap_is_read_whatever_its_line_break() -> None:
    for line_break in ("\r\n", "\n", "\r", ""):
        assert _read(f"h\r\n{'x' * 40}{line_break}", max_chars=40) == [(1, ["h"]), (2, ["x" * 40])]
    quoted = 'h\r\n"a\r\nb"\r\n'  # the record is 6 characters: its quotes and inner line break count
    assert _read(quoted, max_chars=6) == [(1, ["h"]), (2, ["a\r\nb"])]
    assert _read(quoted, max_chars=5)[1] == (
        2,
        BadRecord("row_too_long", "the row is 6 characters long; at most 5 are allowed"),
    )


def test_a_chunk_of_rows_is_bounded_by_their_characters_and_cells_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 5,000 rows of 1 MiB each would be 5 GB in one chunk: a chunk also ends at a budget of text and of cells.
    from batchctl.catalog import import_strategy

    monkeypatch.setattr(import_strategy, "CHECK_CHUNK_CHARS", 1000)
    monkeypatch.setattr(import_strategy, "CHECK_CHUNK_CELLS", 60)
    path = tmp_path / "rows.csv"
    long_rows = "".join(f"long{i};{'x' * 300}\r\n" for i in range(10))  # 4 of them pass 1,000 characters
    wide_rows = "".join(f"wide{i}" + ";" * 19 + "\r\n" for i in range(9))  # 3 of them reach 60 cells
    path.write_text(f"h;t\r\n{long_rows}{wide_rows}", encoding="utf-8")
    meter = ReadMeter()
    records = read_records(path, meter)
    next(records)
    sizes = []
    while chunk := import_strategy._next_chunk(records, meter):
        sizes.append(len(chunk))
    assert sizes == [4, 4, 5, 3, 3]  # 308 characters a long row; 20 cells a wide one (2 a long one)
    assert meter.chars == path.stat().st_size
