"""``product-import``: Medusa's CSV into the catalog, previewed then applied, with real worker processes, on both
backends."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from batchctl.catalog.import_strategy import ops_path
from tests.conftest import Backend, wait_until

DATA = Path(__file__).resolve().parent.parent / "data"
SHORT_LEASE = {"BATCHCTL_LEASE_SECONDS": "1"}
IMPORT_STAT = "product-import-count"


@pytest.fixture
def empty_backend(
    backend: Backend,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    env_for: Callable[[Path], dict[str, str]],
    pg_database: Callable[[str | None], AbstractContextManager[str]],
) -> Iterator[Backend]:
    """A second, empty backend of the same kind as ``backend`` (another SQLite file or PostgreSQL database)."""
    tmp = tmp_path / "second"
    tmp.mkdir()
    env = {**env_for(tmp), "BATCHCTL_QUEUE_NAME": f"batchctl-test-{uuid.uuid4().hex[:12]}"}
    if backend.name == "sqlite":
        env["BATCHCTL_DATABASE_URL"] = f"sqlite:///{tmp / 'second.db'}"
        second = Backend("sqlite", env, tmp)
        assert second.cli("db", "upgrade").code == 0
        yield second
        second.stop_workers()
        return
    with pg_database(request.getfixturevalue("pg_template")) as url:
        env["BATCHCTL_DATABASE_URL"] = url
        env["BATCHCTL_REDIS_URL"] = backend.env["BATCHCTL_REDIS_URL"]
        second = Backend("postgres", env, tmp)
        try:
            yield second
        finally:
            second.stop_workers()


def show(backend: Backend, job_id: str) -> dict[str, Any]:
    shown = backend.cli("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()


def create(backend: Backend, batch_type: str, *args: str) -> str:
    created = backend.cli("create", "--type", batch_type, *args, "-q")
    assert created.code == 0, created.stderr
    return created.stdout.strip()


def stat(job: dict[str, Any], key: str) -> str:
    return next(s["message"] for s in job["result"]["stat_descriptors"] if s["key"] == key)


def export(backend: Backend, *args: str) -> Path:
    job_id = create(backend, "product-export", *args)
    assert backend.burst().code == 0
    job = show(backend, job_id)
    assert job["status"] == "completed", job["result"]
    return Path(job["result"]["file_key"])


def counts(backend: Backend) -> dict[str, int]:
    tables = ("product", "product_variant", "money_amount", "product_option_value", "product_image", "product_tags")
    with backend.database().transaction(write=False) as tx:
        return {table: int(tx.execute(f"SELECT COUNT(*) FROM {table}").scalar()) for table in tables}


def test_a_catalog_round_trips_between_two_databases(backend: Backend, empty_backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "1000", "--variants", "2").code == 0
    first = export(backend)
    assert counts(empty_backend)["product"] == 0

    job_id = create(empty_backend, "product-import", "-c", f"file={first}")
    assert empty_backend.burst().code == 0
    job = show(empty_backend, job_id)
    assert job["status"] == "completed", job["result"]
    assert stat(job, IMPORT_STAT) == (
        "There will be 1000 products created (0 updated). 2000 variants will be created (0 updated)."
    )
    assert counts(empty_backend) == counts(backend)

    second = export(empty_backend)
    assert second.read_bytes() == first.read_bytes()
    assert not ops_path(Path(empty_backend.env["BATCHCTL_FILES"]), job_id).exists()


def test_a_file_in_medusa_s_template_format_is_previewed_with_the_right_counts(backend: Backend) -> None:
    # One product of the file exists already, with the variant its SKU names: that row updates both.
    assert backend.cli("db", "upgrade").code == 0
    with backend.database().transaction() as tx:
        tx.execute(
            "INSERT INTO product (id, handle, title, status, created_at, updated_at) "
            "VALUES ('prod_mug', 'coffee-mug', 'Old Mug', 'draft', :now, :now)",
            {"now": "2026-01-01 00:00:00"},
        )
        tx.execute(
            "INSERT INTO product_variant (id, product_id, title, sku, inventory_quantity, created_at) "
            "VALUES ('variant_mug', 'prod_mug', 'One Size', 'MUG-ONE', 3, '2026-01-01 00:00:00')"
        )
    job_id = create(backend, "product-import", "-c", f"file={DATA / 'medusa_template.csv'}", "--dry-run")
    assert backend.burst().code == 0
    preview = show(backend, job_id)
    assert preview["status"] == "pre_processed"
    assert stat(preview, IMPORT_STAT) == (
        "There will be 2 products created (1 updated). 8 variants will be created (1 updated)."
    )
    assert stat(preview, "product-import-regions") == "These regions will be created: Europe"
    assert preview["result"]["errors"] == [] and preview["result"]["confirm_blocked"] is None
    assert counts(backend)["product"] == 1  # a preview writes nothing

    assert backend.cli("confirm", job_id, "-q").code == 0
    assert backend.burst().code == 0
    assert show(backend, job_id)["status"] == "completed"
    with backend.database().transaction(write=False) as tx:
        mug = tx.execute("SELECT title, status, weight FROM product WHERE id = 'prod_mug'").one_or_none()
        mug_variant = tx.execute("SELECT inventory_quantity FROM product_variant WHERE id = 'variant_mug'").scalar()
        sweatpants = tx.execute("SELECT id, description FROM product WHERE handle = 'sweatpants'").one_or_none()
        assert sweatpants is not None
        prices = tx.execute(
            "SELECT v.sku, m.currency_code, r.name AS region, m.amount FROM money_amount m "
            "JOIN product_variant v ON v.id = m.variant_id LEFT JOIN region r ON r.id = m.region_id "
            "WHERE v.sku = 'SWEAT-M'"
        ).all()
        shirt_options = tx.execute(
            "SELECT o.title, ov.value FROM product_option_value ov JOIN product_option o ON o.id = ov.option_id "
            "JOIN product_variant v ON v.id = ov.variant_id WHERE v.sku = 'SHIRT-M-W' ORDER BY o.position"
        ).all()
        region = tx.execute("SELECT currency_code FROM region WHERE name = 'Europe'").scalar()
        tags = tx.execute(
            "SELECT t.value FROM product_tags l JOIN product_tag t ON t.id = l.tag_id "
            f"WHERE l.product_id = '{sweatpants['id']}' ORDER BY l.position"
        ).all()
    assert mug == {"title": "Medusa Coffee Mug", "status": "published", "weight": 400}
    assert mug_variant == 100
    assert sweatpants["description"] == 'Reimagine the feeling of "classic" sweatpants; cotton,\nsoft and warm.'
    assert sorted((p["currency_code"], p["region"] or "", p["amount"]) for p in prices) == [
        ("eur", "", 2950),
        ("eur", "Europe", 2800),
        ("usd", "", 3350),
    ]
    assert [(o["title"], o["value"]) for o in shirt_options] == [("Size", "M"), ("Color", "White")]
    assert region == "eur"
    assert [t["value"] for t in tags] == ["cotton", "comfort"]


BAD_ROWS = {
    (4, "Product Handle", "missing_value"),
    (5, "Variant Inventory Quantity", "invalid_number"),
    (6, "Variant Allow Backorder", "invalid_boolean"),
    (7, "Price EUR", "invalid_amount"),
    (8, "Variant SKU", "duplicate_sku"),
    (9, "Product Status", "invalid_status"),
    (10, "Product Title", "missing_value"),
    (11, "Product Title", "conflicting_product"),
    (12, "Option 1 Value", "option_without_name"),
    (14, "Variant Id", "duplicate_variant_id"),
    (15, "Product Weight", "invalid_number"),
    (16, "Variant Title", "missing_value"),
    (17, None, "row_length"),
}


def test_a_dry_run_of_a_file_with_bad_rows_lists_each_with_its_row_and_writes_nothing(backend: Backend) -> None:
    job_id = create(backend, "product-import", "-c", f"file={DATA / 'bad_rows.csv'}", "--dry-run")
    assert backend.burst().code == 0
    preview = show(backend, job_id)
    assert preview["status"] == "pre_processed"
    result = preview["result"]
    assert {(e["row"], e.get("column"), e["code"]) for e in result["errors"]} == BAD_ROWS
    assert len({code for _, _, code in BAD_ROWS}) >= 10
    assert result["bad_rows"] == 13 and result["count"] == 3
    assert stat(preview, "product-import-errors").startswith("13 rows have errors; fix them, or skip them")
    assert result["confirm_blocked"].startswith(f"Cannot import {DATA / 'bad_rows.csv'}: 13 of its rows have errors")
    assert counts(backend)["product"] == 0
    assert not ops_path(Path(backend.env["BATCHCTL_FILES"]), job_id).exists()

    human = backend.cli("show", job_id).stdout
    assert "error (row 5): Variant Inventory Quantity: 'ten' is not a whole number" in human
    assert "error (row 8): Variant SKU 'LAMP-S' is already used on row 2" in human
    assert "error (row 11): Product Title differs from row 2, the first row of product 'lamp'" in human


def test_a_file_with_errors_cannot_be_confirmed(backend: Backend) -> None:
    job_id = create(backend, "product-import", "-c", f"file={DATA / 'bad_rows.csv'}", "--dry-run")
    assert backend.burst().code == 0
    refused = backend.cli("confirm", job_id)
    assert refused.code == 4
    assert "13 of its rows have errors" in refused.stderr
    assert show(backend, job_id)["status"] == "pre_processed"


def test_without_a_dry_run_a_file_with_errors_fails_and_writes_nothing(backend: Backend) -> None:
    job_id = create(backend, "product-import", "-c", f"file={DATA / 'bad_rows.csv'}")
    assert backend.burst().code == 0
    job = show(backend, job_id)
    assert job["status"] == "failed"
    assert job["result"]["errors"][-1]["code"] == "ImportRefused"
    assert "13 of its rows have errors" in job["result"]["errors"][-1]["message"]
    assert counts(backend)["product"] == 0


def test_skip_bad_rows_imports_the_good_rows_only(backend: Backend) -> None:
    file = DATA / "bad_rows.csv"
    job_id = create(backend, "product-import", "-c", f"file={file}", "-c", "skip_bad_rows=true", "--dry-run")
    assert backend.burst().code == 0
    preview = show(backend, job_id)
    assert preview["result"]["confirm_blocked"] is None
    assert stat(preview, "product-import-errors") == "13 rows have errors and will be skipped."
    assert stat(preview, IMPORT_STAT) == (
        "There will be 2 products created (0 updated). 3 variants will be created (0 updated)."
    )
    assert backend.cli("confirm", job_id, "-q").code == 0
    assert backend.burst().code == 0
    assert show(backend, job_id)["status"] == "completed"
    with backend.database().transaction(write=False) as tx:
        skus = {r["sku"]: r["id"] for r in tx.execute("SELECT id, sku FROM product_variant").all()}
        handles = {r["handle"] for r in tx.execute("SELECT handle FROM product").all()}
    assert handles == {"lamp", "vase"}
    assert set(skus) == {"LAMP-S", "LAMP-L", "VASE-1"}
    assert skus["VASE-1"] == "variant_dup"  # an unknown Variant Id creates the variant with that id


def test_errors_in_the_header_block_the_import_even_when_skipping_bad_rows(backend: Backend, tmp_path: Path) -> None:
    file = tmp_path / "header.csv"
    file.write_text("Product Handle;Product Title;Colour;Price XYZ\r\nlamp;Lamp;red;1\r\n", encoding="utf-8")
    job_id = create(backend, "product-import", "-c", f"file={file}", "-c", "skip_bad_rows=true", "--dry-run")
    assert backend.burst().code == 0
    result = show(backend, job_id)["result"]
    assert {(e["row"], e["column"], e["code"]) for e in result["errors"]} == {
        (1, "Colour", "unknown_column"),
        (1, "Price XYZ", "unknown_currency"),
    }
    assert "its header row has 2 errors" in result["confirm_blocked"]


def test_an_import_updates_only_what_the_file_says(backend: Backend, tmp_path: Path) -> None:
    assert backend.cli("products", "seed", "--count", "1", "--variants", "2").code == 0
    with backend.database().transaction() as tx:
        product = tx.execute("SELECT id, handle, material, weight FROM product").one_or_none()
        variants = tx.execute("SELECT id, sku FROM product_variant ORDER BY variant_rank").all()
    assert product is not None
    file = tmp_path / "update.csv"
    file.write_text(
        "Product Id;Product Handle;Product Title;Product Subtitle;Variant Id;Variant SKU;Variant Title;Price EUR\r\n"
        f"{product['id']};renamed;;;{variants[0]['id']};{variants[0]['sku']};Small;7.5\r\n"
        f"{product['id']};renamed;;;;NEW-SKU;Huge;8\r\n",
        encoding="utf-8",
    )
    job_id = create(backend, "product-import", "-c", f"file={file}")
    assert backend.burst().code == 0
    job = show(backend, job_id)
    assert job["status"] == "completed", job["result"]
    assert (
        stat(job, IMPORT_STAT)
        == "There will be 0 products created (1 updated). 1 variants will be created (1 updated)."
    )
    with backend.database().transaction(write=False) as tx:
        after = tx.execute("SELECT handle, title, subtitle, material, weight FROM product").one_or_none()
        titles = {r["sku"]: r["title"] for r in tx.execute("SELECT sku, title FROM product_variant").all()}
        eur = tx.execute(
            "SELECT m.amount FROM money_amount m WHERE m.variant_id = :id AND m.currency_code = 'eur' "
            "AND m.region_id IS NULL",
            {"id": variants[0]["id"]},
        ).scalar()
        usd = tx.execute(
            "SELECT COUNT(*) FROM money_amount WHERE variant_id = :id AND currency_code = 'usd'",
            {"id": variants[0]["id"]},
        ).scalar()
    assert after is not None
    assert after["handle"] == "renamed"  # the row names the product by id, so its handle changes
    assert after["title"].endswith(product["handle"][-10:])  # an empty title keeps the stored one
    assert after["subtitle"] is None  # an empty cell clears a field that may be empty
    assert (after["material"], after["weight"]) == (product["material"], product["weight"])  # no column: untouched
    assert titles == {variants[0]["sku"]: "Small", variants[1]["sku"]: titles[variants[1]["sku"]], "NEW-SKU": "Huge"}
    assert eur == 750 and usd == 1  # Price EUR replaced; Price USD is not in the file, so it stays


def test_a_killed_import_resumes_from_its_checkpoint_without_duplicates(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "500", "--variants", "2").code == 0
    source = export(backend)
    kept = backend.tmp / "source.csv"
    shutil.copyfile(source, kept)
    before = counts(backend)
    with backend.database().transaction() as tx:
        tx.execute("DELETE FROM product")  # the catalog's rows go with it (ON DELETE CASCADE)
    assert counts(backend)["product_variant"] == 0

    job_id = create(backend, "product-import", "-c", f"file={kept}", "-c", "chunk_size=2")
    first = backend.start_worker(env=SHORT_LEASE)
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 100)
    first.send_signal(signal.SIGKILL)
    first.wait()
    partial = show(backend, job_id)
    assert partial["status"] == "processing" and partial["result"]["advancement_count"] < 1000

    backend.start_worker(env=SHORT_LEASE)
    assert backend.cli("wait", job_id, "--timeout", "90").code == 0
    final = show(backend, job_id)
    assert final["attempts"] == 2
    assert final["result"]["advancement_count"] == final["result"]["count"] == 1000
    assert counts(backend) == before
    assert export(backend).read_bytes() == kept.read_bytes()


def test_a_failed_import_keeps_its_spool_and_a_retry_resumes_from_the_checkpoint(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "500", "--variants", "2").code == 0
    kept = backend.tmp / "source.csv"
    shutil.copyfile(export(backend), kept)
    before = counts(backend)
    with backend.database().transaction() as tx:
        tx.execute("DELETE FROM product")

    job_id = create(backend, "product-import", "-c", f"file={kept}", "-c", "chunk_size=1")
    spool = ops_path(Path(backend.env["BATCHCTL_FILES"]), job_id)
    # A short lease: under load SQLite may first report the renamed table as locked, which the worker
    # treats as an outage and leaves to the lease; the resumed attempt then fails on the missing table.
    # One row a chunk and an early rename: a loaded machine's worker must not finish before the rename is in.
    backend.start_worker(env=SHORT_LEASE)
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 20)
    with backend.database().transaction() as tx:
        tx.execute("ALTER TABLE money_amount RENAME TO money_amount_gone")  # the next chunk fails
    assert backend.cli("wait", job_id, "--timeout", "90").code == 1
    failed = show(backend, job_id)
    assert failed["status"] == "failed"
    assert "could not be imported" in failed["result"]["errors"][-1]["message"]
    assert spool.exists()
    with backend.database().transaction() as tx:
        variants = tx.execute("SELECT COUNT(*) FROM product_variant").scalar()
        tx.execute("ALTER TABLE money_amount_gone RENAME TO money_amount")
    assert variants == failed["result"]["advancement_count"] < 1000  # the failed chunk left nothing behind
    assert backend.cli("retry", job_id, "-q").code == 0
    assert backend.cli("wait", job_id, "--timeout", "180").code == 0
    assert counts(backend) == before
    assert not spool.exists()
    assert export(backend).read_bytes() == kept.read_bytes()


def test_a_canceled_import_keeps_exactly_its_committed_chunks_and_drops_its_spool(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "500", "--variants", "2").code == 0
    kept = backend.tmp / "source.csv"
    shutil.copyfile(export(backend), kept)
    with backend.database().transaction() as tx:
        tx.execute("DELETE FROM product")

    # One row a chunk and an early cancel: a fast machine's worker must not finish before the cancel lands.
    job_id = create(backend, "product-import", "-c", f"file={kept}", "-c", "chunk_size=1")
    spool = ops_path(Path(backend.env["BATCHCTL_FILES"]), job_id)
    backend.start_worker()
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 10)
    assert spool.exists()
    assert backend.cli("cancel", job_id, "-q").code == 0
    wait_until(lambda: not spool.exists())
    final = show(backend, job_id)
    assert final["status"] == "canceled"
    # Each row is one variant: what was committed is exactly what the progress says, no more, no less.
    assert counts(backend)["product_variant"] == final["result"]["advancement_count"] < 1000


def test_products_without_variants_survive_a_round_trip(backend: Backend, empty_backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "3", "--variants", "0").code == 0
    first = export(backend)
    assert len(first.read_bytes().split(b"\r\n")) == 5  # the header, a line per product, the final newline
    job_id = create(empty_backend, "product-import", "-c", f"file={first}")
    assert empty_backend.burst().code == 0
    job = show(empty_backend, job_id)
    assert stat(job, IMPORT_STAT) == (
        "There will be 3 products created (0 updated). 0 variants will be created (0 updated)."
    )
    assert export(empty_backend).read_bytes() == first.read_bytes()


def test_the_template_is_medusa_s_header_and_an_example_that_imports(backend: Backend, tmp_path: Path) -> None:
    target = tmp_path / "template.csv"
    written = backend.cli("template", "product-import", "-o", str(target))
    assert written.code == 0, written.stderr
    header = target.read_bytes().decode().split("\r\n")[0]
    assert header.startswith("Product Id;Product Handle;Product Title;")
    assert header.endswith(";Price EUR;Price USD;Option 1 Name;Option 1 Value;Image 1 Url;Image 2 Url")
    job_id = create(backend, "product-import", "-c", f"file={target}", "--dry-run")
    assert backend.burst().code == 0
    preview = show(backend, job_id)
    assert preview["result"]["errors"] == []
    assert stat(preview, IMPORT_STAT) == (
        "There will be 1 products created (0 updated). 1 variants will be created (0 updated)."
    )


def test_create_refuses_a_file_that_is_not_there(backend: Backend) -> None:
    refused = backend.cli("create", "--type", "product-import", "-c", "file=/nowhere/products.csv")
    assert refused.code == 2
    assert "file_key '/nowhere/products.csv': no such file" in refused.stderr
    missing = backend.cli("create", "--type", "product-import")
    assert missing.code == 2 and "file_key is required" in missing.stderr
    assert backend.cli("list", "--json").json()["count"] == 0


def test_a_relative_path_is_copied_into_the_store_at_create(backend: Backend) -> None:
    shutil.copyfile(DATA / "medusa_template.csv", backend.tmp / "products.csv")
    created = backend.run("create", "--type", "product-import", "-c", "file=products.csv", "--dry-run", "--json")
    assert created.code == 0, created.stderr
    context = created.json()["context"]
    job_id = created.json()["id"]
    # The job keeps the store's key of its own copy, and the path it was given (absolute) for display.
    assert context["file_key"] == f"jobs/{job_id}/products.csv"
    assert context["file_name"] == str(backend.tmp / "products.csv")
    assert os.path.isabs(context["file_name"])
    copy = Path(backend.env["BATCHCTL_FILES"]) / context["file_key"]
    assert copy.read_bytes() == (DATA / "medusa_template.csv").read_bytes()


# Strings at the edge of the formula guard: quotes before a trigger or a plain number, triggers alone, a lone
# quote, a plain number (left alone), and ones the CSV must quote. Each round trip once added a quote to '-5.
TRICKY = ["'-5", "''x", "=1+1", "@a", "-", "'", "''", "'=1", "'hello", "-5", "+3.5", "+cmd", "\tx", "\rx", "x'"]
TRICKY += ["-٣", '"', "=;\r\n", "''-5", "'+3.5"]


def _tricky_catalog(backend: Backend) -> None:
    """One product per tricky string: its handle, and (shifted) its title, description, material, variant texts."""
    assert backend.cli("products", "seed", "--count", str(len(TRICKY)), "--variants", "1").code == 0
    n = len(TRICKY)
    with backend.database().transaction() as tx:
        ids = [r["id"] for r in tx.execute("SELECT id FROM product ORDER BY id").all()]
        for i, pid in enumerate(ids):
            texts = {
                "id": pid,
                "handle": TRICKY[i],
                "title": TRICKY[(i + 1) % n],
                "subtitle": None if i % 3 == 0 else TRICKY[(i + 2) % n],  # empty is NULL: a CSV has no other
                "description": TRICKY[(i + 3) % n],
                "material": TRICKY[(i + 4) % n],
            }
            tx.execute(
                "UPDATE product SET handle = :handle, title = :title, subtitle = :subtitle, "
                "description = :description, material = :material WHERE id = :id",
                texts,
            )
            tx.execute(
                "UPDATE product_variant SET title = :title, sku = :sku, barcode = :barcode WHERE product_id = :id",
                {"id": pid, "title": TRICKY[(i + 5) % n], "sku": f"{TRICKY[i]}|sku", "barcode": TRICKY[(i + 6) % n]},
            )
            tx.execute(
                "UPDATE product_option_value SET value = :value WHERE variant_id IN "
                "(SELECT id FROM product_variant WHERE product_id = :id)",
                {"id": pid, "value": TRICKY[(i + 7) % n].strip() or "x"},  # option values are read stripped
            )


def _texts(backend: Backend) -> list[dict[str, Any]]:
    with backend.database().transaction(write=False) as tx:
        return tx.execute(
            "SELECT p.id, p.handle, p.title, p.subtitle, p.description, p.material, v.title AS variant_title, "
            "v.sku, v.barcode, (SELECT MIN(ov.value) FROM product_option_value ov WHERE ov.variant_id = v.id) "
            "AS option_value FROM product p JOIN product_variant v ON v.product_id = p.id ORDER BY p.id"
        ).all()


def test_tricky_texts_survive_export_import_export_exactly(backend: Backend, empty_backend: Backend) -> None:
    _tricky_catalog(backend)
    originals = _texts(backend)
    assert sorted(r["handle"] for r in originals) == sorted(TRICKY)
    first = export(backend)
    data = first.read_bytes()
    # Guarded as the README says: one more quote before a quote or a trigger, plain numbers as they are.
    assert b";'''-5;" in data and b";'''x;" in data and b";'=1+1;" in data and b";''';" in data
    assert b";-5;" in data and b";'-;" in data
    for cells in csv.reader(io.StringIO(data.decode(), newline=""), delimiter=";"):
        for cell in cells:
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r") or re.fullmatch(r"[+-][0-9]+(\.[0-9]+)?", cell)

    job_id = create(empty_backend, "product-import", "-c", f"file={first}")
    assert empty_backend.burst().code == 0
    job = show(empty_backend, job_id)
    assert job["status"] == "completed", job["result"]
    assert _texts(empty_backend) == originals  # every value exactly, not one quote more or less
    second = export(empty_backend)
    assert second.read_bytes() == data
