"""``product-import``: Medusa's product CSV into the catalog, previewed row by row, applied in chunks.

    batchctl template product-import -o products.csv
    batchctl create --type product-import -c file=products.csv --dry-run
    batchctl show ID            # counts in the stat descriptors, each bad row with its number
    batchctl confirm ID

Context: ``file_key`` (or ``file``): the CSV's path. At create the creating process opens it (a regular
file, never through a symbolic link) and copies it into the file store, ``BATCHCTL_FILES/jobs/ID/NAME``;
the stored context then holds that key in ``file_key`` and the path given in ``file_name``, and the worker
reads only the copy. Over HTTP ``file_key`` is the caller's upload key, handed over as it is. ``skip_bad_rows``
(default false): import the good rows of a file that has bad ones; ``chunk_size`` (rows per committed
chunk, default 5000).

Rows are matched as Medusa does, by ``Product Id`` or else ``Product Handle``, and by ``Variant Id``.
batchctl's extensions: a ``Product Id`` (or ``Variant Id``) the catalog does not know creates the
product (variant) with that id instead of being refused, so that a catalog moves between databases
with its ids; a row without ``Variant Id`` whose SKU is a variant of the same product updates that
variant; a region named by a ``Price <Region> [<CUR>]`` column that does not exist is created.

Pre-processing streams the file once: it checks every row, stores the counts and the errors (row,
column, problem), and spools the good rows, parsed, to ``BATCHCTL_FILES/imports/ID.rows`` (Medusa's
"ops file"; ``result.ops_file``). A file with errors cannot be confirmed (``result.confirm_blocked``
says why) unless ``skip_bad_rows`` is set and the header itself is sound. Processing reads the spool
from ``job.checkpoint`` (rows already committed) and commits each chunk with its progress, so a
resumed job neither skips nor repeats a row; the CSV itself is not read again. The spool is removed
when the job completes or is canceled; a failed job keeps it, so that ``batchctl retry`` resumes from the
checkpoint. The copy and the spool are recorded as the job's files (files.py): ``prune`` removes them.
"""

from __future__ import annotations

import itertools
import marshal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from batchctl.catalog.bulk import no_jit, paused_gc
from batchctl.catalog.columns import FIXED_COLUMNS, Header, parse_header
from batchctl.catalog.csv_format import BadRecord, CellError, ReadMeter, Record, encode_rows, read_records_from
from batchctl.catalog.import_apply import ImportApplier
from batchctl.catalog.import_check import ImportChecker, Summary
from batchctl.catalog.rows import ParsedRow, RowParser
from batchctl.contexts import boolean, check_keys, positive_int
from batchctl.errors import BadContext, JobCanceled
from batchctl.files import FileStore, Role, StoredFileRefused, check_source, spool_key
from batchctl.strategy import BatchJobStrategy, Job

CONTEXT_KEYS = ("file_key", "skip_bad_rows", "chunk_size")  # and "file", for file_key
DEFAULT_CHUNK_SIZE = 5000
CHECK_CHUNK = 5000
# What one chunk of rows may hold besides: a record may take 1 MiB and 1,000 cells (csv_format), and
# 5,000 such rows would be gigabytes. A chunk ends at whichever bound comes first.
CHECK_CHUNK_CHARS = 16 << 20
CHECK_CHUNK_CELLS = 500_000

TEMPLATE_ROWS = (
    # A product with one option and one variant, priced in two currencies.
    {
        "Product Handle": "coffee-mug",
        "Product Title": "Coffee Mug",
        "Product Description": "Every programmer's best friend.",
        "Product Status": "published",
        "Product Thumbnail": "https://example.com/images/coffee-mug.png",
        "Product Weight": "400",
        "Product Collection Title": "Kitchen",
        "Product Collection Handle": "kitchen",
        "Product Type": "Mug",
        "Product Tags": "ceramic,gift",
        "Product Discountable": "true",
        "Variant Title": "One Size",
        "Variant SKU": "MUG-ONE",
        "Variant Inventory Quantity": "100",
        "Variant Allow Backorder": "false",
        "Variant Manage Inventory": "true",
        "Price EUR": "10",
        "Price USD": "12.5",
        "Option 1 Name": "Size",
        "Option 1 Value": "One Size",
        "Image 1 Url": "https://example.com/images/coffee-mug.png",
    },
)
# The dynamic columns of Medusa's own template (its admin's "Download template").
TEMPLATE_DYNAMIC = ("Price EUR", "Price USD", "Option 1 Name", "Option 1 Value", "Image 1 Url", "Image 2 Url")


class ImportRefused(RuntimeError):
    """The import cannot run: its file has errors or changed since it was checked."""


def ops_path(files_dir: Path, job_id: str) -> Path:
    """Where pre-processing spools the checked rows for processing (Medusa's "ops file")."""
    return FileStore(files_dir).path(spool_key(job_id))


class ProductImportStrategy(BatchJobStrategy):
    """Imports products from Medusa's CSV format (context: file_key, skip_bad_rows)."""

    identifier = "product-import-strategy"
    batch_type = "product-import"
    input_files = ("file_key",)  # copied into the file store at create; the worker reads only the copy

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Check that the file is a regular file that can be read (not a link); keep its absolute path."""
        check_keys(context, allowed=CONTEXT_KEYS, aliases=("file",))
        if "file_key" in context and "file" in context:
            raise BadContext("give the file as file_key or file, not both")
        raw = context.get("file_key", context.get("file"))
        if not isinstance(raw, str) or not raw:
            raise BadContext("file_key is required: the path of the CSV to import, e.g. -c file=products.csv")
        path = check_source(raw, label="file_key")
        return {
            "file_key": str(path),
            "skip_bad_rows": boolean(context, "skip_bad_rows"),
            "chunk_size": positive_int(context, "chunk_size", default=DEFAULT_CHUNK_SIZE),
        }

    def build_template(self) -> str:
        """Medusa's template header (with its dynamic columns) and an example line."""
        header = [column.name for column in FIXED_COLUMNS] + list(TEMPLATE_DYNAMIC)
        lines = [header] + [[row.get(name, "") for name in header] for row in TEMPLATE_ROWS]
        return encode_rows(lines).decode("utf-8")

    # -- pre-processing ---------------------------------------------------------------------------------------

    def pre_process(self, job: Job) -> None:
        """Stream the file once: check and classify each row, spool the good ones, store counts and errors."""
        name = _shown_name(job)
        try:
            source = job.open_input("file_key")  # the store's copy only: never the path the user gave
        except StoredFileRefused as error:
            raise ImportRefused(f"{name}: {error}") from None
        with source:
            self._check_file(job, source, name)

    def _check_file(self, job: Job, source: BinaryIO, name: str) -> None:
        meter = ReadMeter()
        records = _records(source, name, meter)
        header = _header(records, name)
        checker = ImportChecker(header)
        spool = job.track_file(spool_key(job.id), Role.SCRATCH)
        good = 0
        try:
            with job.store.open_write(spool_key(job.id)) as out:
                _write_block(out, header.names)
                with job.transaction() as tx:
                    checker.check_header(tx)
                if "Product Handle" in header.fixed:
                    parser = RowParser(header)
                    while True:
                        with paused_gc():
                            kept = _check_chunk(job, records, meter, parser, checker, out)
                        if kept is None:
                            break
                        good += kept
        except BaseException:
            spool.unlink(missing_ok=True)
            raise
        finally:
            checker.close()
        blocked = self._report(job, checker.summary, good)
        if blocked:
            spool.unlink(missing_ok=True)
        else:
            job.set_result(ops_file=str(spool))

    def _report(self, job: Job, summary: Summary, good: int) -> str | None:
        """Stat descriptors, errors and counts into the result; returns why the import cannot run, if it cannot."""
        job.set_count(good)
        p, v = summary.products, summary.variants
        job.add_stat(
            "product-import-count",
            "Products/variants to import",
            f"There will be {p['create']} products created ({p['update']} updated). "
            f"{v['create']} variants will be created ({v['update']} updated).",
        )
        if summary.rows == 0 and not summary.header_errors:
            job.add_stat(
                "product-import-empty", "No rows", "The file has a header but no rows: nothing will be imported."
            )
        if summary.regions_to_create:
            names = ", ".join(summary.regions_to_create)
            job.add_stat("product-import-regions", "Regions to create", f"These regions will be created: {names}")
        blocked = None
        if summary.error_count:
            listed = len(summary.errors)
            kept = "" if summary.error_count <= listed else f" (the first {listed} errors are listed)"
            if summary.header_errors:
                message = (
                    f"The header row has {summary.header_errors} errors; nothing can be imported until it is fixed."
                )
            elif job.context["skip_bad_rows"]:
                message = f"{summary.bad_rows} rows have errors and will be skipped{kept}."
            else:
                message = (
                    f"{summary.bad_rows} rows have errors{kept}; fix them, or skip them with -c skip_bad_rows=true."
                )
            job.add_stat("product-import-errors", "Rows with errors", message)
            if summary.header_errors:
                blocked = f"its header row has {summary.header_errors} errors; fix the file and create a new job"
            elif not job.context["skip_bad_rows"]:
                blocked = (
                    f"{summary.bad_rows} of its rows have errors; fix the file and create a new job, "
                    "or create it with -c skip_bad_rows=true to import only the good rows"
                )
        if blocked:
            blocked = f"Cannot import {_shown_name(job)}: {blocked} (the errors: `batchctl show {job.id}`)"
        job.set_result(
            errors=summary.errors,
            error_count=summary.error_count,
            bad_rows=summary.bad_rows,
            rows=summary.rows,
            operations={
                "product_create": p["create"],
                "product_update": p["update"],
                "variant_create": v["create"],
                "variant_update": v["update"],
            },
            confirm_blocked=blocked,
        )
        return blocked

    # -- processing -------------------------------------------------------------------------------------------

    def process(self, job: Job) -> None:
        """Apply the checked rows chunk by chunk from the checkpoint; each chunk commits with its progress."""
        blocked = job.result.get("confirm_blocked")
        if blocked:
            raise ImportRefused(blocked)
        spool = ops_path(job.files_dir, job.id)
        if not spool.exists():
            raise ImportRefused(f"the checked rows of this import ({spool}) are gone; create a new import job")
        try:
            self._apply_spool(job)
        except JobCanceled:
            spool.unlink(missing_ok=True)  # a canceled job is not resumed: its rows are not needed any more
            raise
        spool.unlink(missing_ok=True)
        job.set_result(ops_file=None)

    @staticmethod
    def _apply_spool(job: Job) -> None:
        with job.store.open_read(spool_key(job.id)) as source:
            header = parse_header(_read_block(source))
            applier = ImportApplier(header)
            rows = itertools.islice(_spooled(source, RowParser(header)), job.checkpoint, None)
            size = int(job.context["chunk_size"])
            while True:
                with paused_gc():
                    applied = _apply_chunk(job, rows, applier, size)
                if not applied:
                    return


# The chunk helpers keep each chunk's objects in their own frame, so that they are freed (by reference
# counting) before paused_gc() lets the collector run again: it then has nothing big to walk.


def _check_chunk(
    job: Job, records: Iterator[Record], meter: ReadMeter, parser: RowParser, checker: ImportChecker, out: Any
) -> int | None:
    """Check the next chunk of rows and spool the good ones; how many were kept (None: no rows left)."""
    chunk = _next_chunk(records, meter)
    if not chunk:
        return None
    parsed = parser.parse_chunk(chunk)
    with job.transaction() as tx:
        no_jit(tx)
        checker.check_rows(tx, parsed)
        job.advance(0)  # renew the lease, stop here if canceled
    bad = set(checker.bad_rows)
    checker.bad_rows.clear()
    kept = [parser.to_record(row) for row in parsed if row.row not in bad]
    _write_block(out, kept)
    return len(kept)


def _apply_chunk(job: Job, rows: Iterator[ParsedRow], applier: ImportApplier, size: int) -> int:
    """Apply the next ``size`` spooled rows with their progress, in one transaction; how many (0: none left)."""
    chunk = list(itertools.islice(rows, size))
    if not chunk:
        return 0
    with job.transaction() as tx:
        no_jit(tx)
        try:
            applier.apply(tx, chunk)
        except Exception as error:
            first, last = chunk[0].row, chunk[-1].row
            raise RuntimeError(f"rows {first}-{last} could not be imported: {error}") from error
        job.advance(len(chunk))
    return len(chunk)


def _write_block(out: Any, value: Any) -> None:
    # Length-prefixed marshal blocks: marshal.load() on a file reads it in tiny pieces, loads() on bytes does not.
    data = marshal.dumps(value)
    out.write(len(data).to_bytes(8, "little"))
    out.write(data)


def _read_block(source: Any) -> Any:
    size = source.read(8)
    if len(size) < 8:
        raise EOFError
    return marshal.loads(source.read(int.from_bytes(size, "little")))


def _spooled(source: Any, parser: RowParser) -> Iterator[ParsedRow]:
    """The rows pre-processing checked and kept, in file order."""
    while True:
        try:
            records = _read_block(source)
        except EOFError:
            return
        for record in records:
            yield parser.from_record(record)


def _shown_name(job: Job) -> str:
    """The file as the user named it (the path given at create, or the upload's name), for messages."""
    return str(job.context.get("file_name") or job.context.get("file_key"))


def _next_chunk(records: Iterator[Record], meter: ReadMeter) -> list[Record]:
    """The next rows to check: CHECK_CHUNK of them, or fewer when they hold CHECK_CHUNK_CHARS or _CELLS."""
    chunk: list[Record] = []
    start, cells = meter.chars, 0
    for record in records:
        chunk.append(record)
        if isinstance(record[1], list):
            cells += len(record[1])
        if len(chunk) >= CHECK_CHUNK or cells >= CHECK_CHUNK_CELLS or meter.chars - start >= CHECK_CHUNK_CHARS:
            break
    return chunk


def _records(source: BinaryIO, name: str, meter: ReadMeter) -> Iterator[Record]:
    try:
        yield from read_records_from(source, meter)
    except CellError as error:
        raise ImportRefused(f"{name}: {error}") from None


def _header(records: Iterator[Record], name: str) -> Header:
    first = next(records, None)
    if first is None:
        raise ImportRefused(f"{name} is empty; it needs a header row (see `batchctl template product-import`)")
    number, names = first
    if isinstance(names, BadRecord):
        raise ImportRefused(f"{name}: row {number}, the header: {names.message}")
    if any("\x00" in cell for cell in names):
        # Refused here: a NUL in a column name would reach the job's errors, which PostgreSQL cannot store.
        raise ImportRefused(f"{name}: row {number}, the header, holds a NUL character; it should hold column names")
    names[0] = names[0].lstrip("\ufeff")  # a second byte-order mark (the first is the decoder's)
    return parse_header(names)
