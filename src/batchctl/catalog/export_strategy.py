"""``product-export``: the catalog as Medusa's product CSV, one line per variant, written in chunks.

    batchctl create --type product-export -c status=published --dry-run
    batchctl confirm ID && batchctl wait ID && batchctl show ID     # file: …/product-export-ID.csv

Context (all optional): ``status``, ``collection`` (handles), ``type`` (values), ``handles`` (each a
string or a list), ``created_after``/``created_before`` (ISO-8601 or an age like ``7d``) and
``chunk_size`` (products per committed chunk, default 1000).

Pre-processing counts the products and fixes the file's shape (currencies, regions, how many option
and image columns), as Medusa does. Processing appends each chunk's lines to the file, fsyncs it, then
commits the chunk's progress together with the file size and the last product written; a resumed job
truncates the file back to that size and goes on from that product. On cancel or failure the file is
removed (a ``batchctl retry`` of a failed export writes it again from the start).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchctl.catalog.columns import export_header
from batchctl.catalog.csv_format import encode_rows
from batchctl.catalog.export_rows import ExportReader
from batchctl.catalog.products import PRODUCT_STATUSES
from batchctl.catalog.queries import ALL, product_filter
from batchctl.contexts import check_keys, moment, positive_int, string_list
from batchctl.db import Tx
from batchctl.errors import BadContext
from batchctl.files import FileStore, Role, export_key
from batchctl.strategy import BatchJobStrategy, Job

CONTEXT_KEYS = ("status", "collection", "type", "handles", "created_after", "created_before", "chunk_size")
DEFAULT_CHUNK_SIZE = 1000


def export_path(files_dir: Path, job_id: str) -> Path:
    """Where the export of job ``job_id`` is written (the file store's ``exports/products/…`` key)."""
    return FileStore(files_dir).path(export_key(job_id))


class ProductExportStrategy(BatchJobStrategy):
    """Exports products to Medusa's CSV format (context: status, collection, type, handles, created_*)."""

    identifier = "product-export-strategy"
    batch_type = "product-export"

    def prepare(self, context: dict[str, Any]) -> dict[str, Any]:
        """Check the filters and normalise them to lists and ISO-8601 UTC times."""
        check_keys(context, allowed=CONTEXT_KEYS)
        prepared: dict[str, Any] = {"chunk_size": positive_int(context, "chunk_size", default=DEFAULT_CHUNK_SIZE)}
        if "status" in context:
            statuses = string_list(context, "status")
            bad = [s for s in statuses if s not in PRODUCT_STATUSES]
            if bad:
                raise BadContext(f"unknown product status {bad[0]!r}; expected some of: {', '.join(PRODUCT_STATUSES)}")
            prepared["status"] = statuses
        for key, target in (("collection", "collections"), ("type", "types"), ("handles", "handles")):
            if key in context:
                prepared[target] = string_list(context, key)
        now = datetime.now(UTC)
        for key in ("created_after", "created_before"):
            if key in context:
                prepared[key] = moment(context, key, now=now).astimezone(UTC).isoformat()
        return prepared

    def pre_process(self, job: Job) -> None:
        """Count the products and fix the file's dynamic columns from what they use."""
        with job.transaction() as tx:
            where, params = product_filter(tx, job.context)
            count = int(tx.execute(f"SELECT COUNT(*) FROM product p WHERE {where}", params).scalar())
            shape = _shape(tx, where, params)
        job.set_count(count)
        job.set_result(shape=shape)
        job.add_stat(
            "product-export-count", "Product count to export", f"There will be {count} products exported by this action"
        )

    def process(self, job: Job) -> None:
        """Write the file chunk by chunk; each chunk's progress commits after its lines are on disk."""
        # Recorded before the file exists: whatever happens next, prune (or a cancel) finds and removes it.
        path = job.track_file(export_key(job.id), Role.OUTPUT)
        shape = job.result["shape"]
        chunk_size = int(job.context["chunk_size"])
        cursor: str | None = job.result.get("cursor")
        # A retry after a failure starts the file again (a failure removes it); the products already
        # counted before the failure are not counted twice.
        recount = job.checkpoint if cursor is None else 0
        out, size = _open_output(path, job, export_header(shape))
        with out:
            reader: ExportReader | None = None
            while True:
                with job.transaction() as tx:
                    if reader is None:
                        reader = ExportReader(tx, shape, *product_filter(tx, job.context))
                    lines, cursor, products = reader.chunk(tx, cursor, chunk_size)
                if not products:
                    break
                # The file is written between transactions, so that no database lock is held while it is
                # (SQLite has one writer at a time: `batchctl cancel` must get its turn).
                data = encode_rows(lines)
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
                size += len(data)
                # Committed only now that the lines are on disk: a resume truncates to this size.
                job.set_result(file_key=str(path), file_size=size, cursor=cursor)
                counted = min(recount, products)
                recount -= counted
                job.advance(products - counted)
        # A completed export keeps the file, not the resume bookmark.
        job.set_result(file_key=str(path), file_size=path.stat().st_size, cursor=None)

    def on_canceled(self, job: Job) -> None:
        """Canceled mid-way or just before completing: the file goes, and so does the result's pointer to it."""
        _remove(export_path(job.files_dir, job.id))
        job.set_result(file_key=None, file_size=None, cursor=None)

    def should_retry(self, job: Job, error: Exception) -> bool:
        """Retry (with backoff) only when a stalled worker still held the file."""
        return isinstance(error, ExportFileBusy)

    def handle_error(self, job: Job, error: Exception) -> None:
        """The job failed for good: remove the partial file, then record the error."""
        if not isinstance(error, ExportFileBusy):  # that file is another worker's, still being written
            _remove(export_path(job.files_dir, job.id))
            job.set_result(file_key=None, file_size=None, cursor=None)
        super().handle_error(job, error)


def _open_output(path: Path, job: Job, header: list[str]) -> tuple[Any, int]:
    """The file to append to and its size: a fresh file with the header, or the committed part of a resumed one."""
    if job.result.get("cursor"):
        committed = int(job.result["file_size"])
        if not path.exists() or path.stat().st_size < committed:
            raise RuntimeError(
                f"cannot resume the export: its partial file {path} is missing or shorter than committed"
            )
        out = _locked(job.store.open_write(export_key(job.id), "r+b"), path)
        out.truncate(committed)  # drop lines written after the last committed chunk
        out.seek(committed)
        return out, committed
    out = _locked(job.store.open_write(export_key(job.id), "ab"), path)
    out.truncate(0)
    data = encode_rows([header])
    out.write(data)
    return out, len(data)


class ExportFileBusy(RuntimeError):
    """Another worker still writes this export (its lease expired while it stalled); try again later."""


def _locked(out: Any, path: Path) -> Any:
    """Hold an exclusive lock on the export file, so a stalled worker and its successor never both write it."""
    import fcntl

    try:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        out.close()
        raise ExportFileBusy(f"another worker is still writing {path}") from None
    return out


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _shape(tx: Tx, where: str, params: dict[str, Any]) -> dict[str, Any]:
    """What the header needs: the currencies and regions priced, the most options and images of a product."""
    # Unfiltered (the usual case), the joins back to product are skipped.
    products = "" if where == ALL else f" WHERE product_id IN (SELECT p.id FROM product p WHERE {where})"
    variants = "" if where == ALL else f" AND variant_id IN (SELECT id FROM product_variant{products})"
    currencies = tx.execute(
        f"SELECT DISTINCT currency_code FROM money_amount WHERE region_id IS NULL{variants} ORDER BY currency_code",
        params,
    ).all()
    regions = tx.execute(
        "SELECT name, currency_code FROM region WHERE id IN "
        f"(SELECT region_id FROM money_amount WHERE region_id IS NOT NULL{variants}) ORDER BY name",
        params,
    ).all()
    most: dict[str, int] = {}
    for table in ("product_option", "product_image"):
        most[table] = int(
            tx.execute(
                f"SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM {table}{products} GROUP BY product_id) c",
                params,
            ).scalar()
        )
    return {
        "currencies": [row["currency_code"] for row in currencies],
        "regions": [[row["name"], row["currency_code"]] for row in regions],
        "options": most["product_option"],
        "images": most["product_image"],
    }
