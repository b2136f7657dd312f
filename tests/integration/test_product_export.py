"""``product-export``: Medusa's CSV from the catalog, with real worker processes, on both backends."""

from __future__ import annotations

import csv
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

from batchctl.catalog.columns import FIXED_COLUMNS
from tests.conftest import Backend, wait_until

SHORT_LEASE = {"BATCHCTL_LEASE_SECONDS": "1"}


def show(backend: Backend, job_id: str) -> dict[str, Any]:
    shown = backend.cli("show", job_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()


def create(backend: Backend, *args: str) -> str:
    created = backend.cli("create", "--type", "product-export", *args, "-q")
    assert created.code == 0, created.stderr
    return created.stdout.strip()


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def scalar(backend: Backend, sql: str) -> Any:
    with backend.database().transaction(write=False) as tx:
        return tx.execute(sql).scalar()


def execute(backend: Backend, sql: str) -> None:
    with backend.database().transaction() as tx:
        tx.execute(sql)


def test_export_writes_medusa_s_columns_one_line_per_variant_under_batchctl_files(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "30", "--variants", "2").code == 0
    files = Path(backend.env["BATCHCTL_FILES"])
    assert not files.exists()  # the export makes the folder it needs
    job_id = create(backend)
    assert backend.burst().code == 0
    job = show(backend, job_id)
    assert job["status"] == "completed"
    result = job["result"]
    assert result["count"] == result["advancement_count"] == 30
    assert result["stat_descriptors"] == [
        {
            "key": "product-export-count",
            "name": "Product count to export",
            "message": "There will be 30 products exported by this action",
        }
    ]
    path = Path(result["file_key"])
    assert path.parent == files / "exports" / "products" and path.is_file()
    assert result["file_size"] == path.stat().st_size

    raw = path.read_bytes()
    header = raw.split(b"\r\n", 1)[0].decode().split(";")
    images = scalar(backend, "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM product_image GROUP BY product_id) c")
    assert header == [
        *(column.name for column in FIXED_COLUMNS),
        "Price EUR",
        "Price USD",
        "Price Europe [EUR]",
        "Option 1 Name",
        "Option 1 Value",
        "Option 2 Name",
        "Option 2 Value",
        *(f"Image {n} Url" for n in range(1, images + 1)),
    ]
    lines = rows(path)
    assert len(lines) == 60
    with backend.database().transaction(write=False) as tx:
        skus = {row["sku"] for row in tx.execute("SELECT sku FROM product_variant").all()}
        price = tx.execute(
            "SELECT v.sku, m.amount FROM money_amount m JOIN product_variant v ON v.id = m.variant_id "
            "WHERE m.currency_code = 'usd' AND m.region_id IS NULL ORDER BY v.sku LIMIT 1"
        ).one_or_none()
    assert {line["Variant SKU"] for line in lines} == skus
    assert price is not None
    [priced] = [line for line in lines if line["Variant SKU"] == price["sku"]]
    assert Decimal(priced["Price USD"]) * 100 == price["amount"]
    assert {line["Option 1 Name"] for line in lines} == {"Size"}
    assert {line["Product Status"] for line in lines} == {"draft"}

    human = backend.cli("show", job_id)
    assert f"file: {path} ({path.stat().st_size} bytes)" in human.stdout


def test_context_filters_choose_the_products(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "12", "--variants", "1").code == 0
    with backend.database().transaction() as tx:
        handles = [row["handle"] for row in tx.execute("SELECT handle FROM product ORDER BY id").all()]
        tx.execute(f"UPDATE product SET status = 'published' WHERE handle IN ('{handles[0]}', '{handles[1]}')")
        tx.execute("INSERT INTO product_type (value) VALUES ('Lamp')")
        tx.execute(
            f"UPDATE product SET type_id = (SELECT id FROM product_type WHERE value = 'Lamp') "
            f"WHERE handle = '{handles[2]}'"
        )
        tx.execute("INSERT INTO product_collection (handle, title) VALUES ('lights', 'Lights')")
        tx.execute(
            "UPDATE product SET collection_id = (SELECT id FROM product_collection WHERE handle = 'lights') "
            f"WHERE handle IN ('{handles[3]}', '{handles[4]}', '{handles[5]}')"
        )
    jobs = {
        "published": create(backend, "-c", "status=published"),
        "handles": create(backend, "-c", f"handles={handles[7]},{handles[8]}"),
        "type": create(backend, "-c", "type=Lamp"),
        "collection": create(backend, "-c", "collection=lights"),
        "future": create(backend, "-c", "created_after=2999-01-01"),
        "recent": create(backend, "-c", "created_after=1h", "-c", "created_before=2999-01-01T00:00:00Z"),
    }
    assert backend.burst().code == 0
    exported = {}
    for name, job_id in jobs.items():
        job = show(backend, job_id)
        assert job["status"] == "completed", (name, job["result"])
        exported[name] = [line["Product Handle"] for line in rows(Path(job["result"]["file_key"]))]
        assert job["result"]["count"] == len(exported[name]), name
    assert sorted(exported["published"]) == sorted(handles[:2])
    assert sorted(exported["handles"]) == sorted(handles[7:9])
    assert exported["type"] == [handles[2]]
    assert sorted(exported["collection"]) == sorted(handles[3:6])
    assert exported["future"] == []
    assert sorted(exported["recent"]) == sorted(handles)


def test_bad_filters_are_refused_at_create(backend: Backend) -> None:
    for args, message in [
        (("-c", "status=live"), "unknown product status 'live'"),
        (("-c", "created_after=yesterday"), "is not a time"),
        (("-c", "colour=red"), "unknown context key 'colour'"),
    ]:
        refused = backend.cli("create", "--type", "product-export", *args)
        assert refused.code == 2, refused.stderr
        assert message in refused.stderr
    assert backend.cli("list", "--json").json()["count"] == 0


def test_cells_that_would_start_a_formula_are_neutralised(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "1", "--variants", "1").code == 0
    execute(
        backend,
        "UPDATE product SET title = '=HYPERLINK(\"http://evil.example\")', subtitle = '@SUM(A1)', "
        "material = '-cmd|calc', weight = 5",
    )
    execute(backend, "UPDATE product_variant SET title = '+42 extra', inventory_quantity = -3")
    job_id = create(backend)
    assert backend.burst().code == 0
    [line] = rows(Path(show(backend, job_id)["result"]["file_key"]))
    assert line["Product Title"] == '\'=HYPERLINK("http://evil.example")'
    assert line["Product Subtitle"] == "'@SUM(A1)"
    assert line["Product Material"] == "'-cmd|calc"
    assert line["Variant Title"] == "'+42 extra"
    assert line["Variant Inventory Quantity"] == "-3"  # a plain number stays a number


def test_cancel_of_a_running_export_leaves_no_file(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "1500", "--variants", "1").code == 0
    job_id = create(backend, "-c", "chunk_size=1")
    backend.start_worker()
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 20)
    running = show(backend, job_id)
    assert running["status"] == "processing"
    path = Path(running["result"]["file_key"])
    assert path.is_file()
    canceled = backend.cli("cancel", job_id, "--json")
    assert canceled.code == 0, canceled.stderr
    wait_until(lambda: not path.exists())
    assert show(backend, job_id)["status"] == "canceled"
    assert list(path.parent.iterdir()) == []
    # Nor does the job point at the file it no longer has.
    wait_until(lambda: show(backend, job_id)["result"].get("file_key", "") is None)
    assert show(backend, job_id)["result"]["file_size"] is None


def test_a_cancel_after_the_last_chunk_still_removes_the_file(backend: Backend, monkeypatch: Any) -> None:
    # The worker's Runner in-process, with a cancel landing after process() wrote every chunk and before the
    # job could complete: the window a real cancel can hit.
    from batchctl.catalog.export_strategy import ProductExportStrategy
    from batchctl.runner import Runner
    from batchctl.runtime import Runtime
    from batchctl.service import cancel_job

    assert backend.cli("products", "seed", "--count", "30", "--variants", "1").code == 0
    job_id = create(backend)
    runtime = Runtime(backend.settings)
    written = ProductExportStrategy.process
    files: list[Path] = []

    def process_then_canceled(self: ProductExportStrategy, job: Any) -> None:
        written(self, job)
        files.append(Path(job.result["file_key"]))
        assert files[0].is_file()
        cancel_job(runtime, job.id)

    monkeypatch.setattr(ProductExportStrategy, "process", process_then_canceled)
    Runner(runtime.settings, runtime.db, runtime.registry()).handle("batch.created", job_id)
    job = show(backend, job_id)
    assert job["status"] == "canceled"
    assert job["result"]["file_key"] is None
    assert files and not files[0].exists()
    assert list(files[0].parent.iterdir()) == []
    runtime.db.discard_connection()


def test_a_killed_export_resumes_and_writes_the_same_file(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "2000", "--variants", "1").code == 0
    reference = create(backend)
    assert backend.burst().code == 0
    expected = Path(show(backend, reference)["result"]["file_key"]).read_bytes()

    job_id = create(backend, "-c", "chunk_size=1")
    first = backend.start_worker(env=SHORT_LEASE)
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 50)
    first.send_signal(signal.SIGKILL)
    first.wait()
    partial = show(backend, job_id)
    assert partial["status"] == "processing" and partial["result"]["advancement_count"] < 2000
    path = Path(partial["result"]["file_key"])
    # Lines written after the last committed chunk (a crash between write and commit) must not survive.
    with path.open("ab") as handle:
        handle.write(b"half a line that was never committed;")

    backend.start_worker(env=SHORT_LEASE)
    assert backend.cli("wait", job_id, "--timeout", "60").code == 0
    final = show(backend, job_id)
    assert final["attempts"] == 2
    assert path.read_bytes() == expected
    assert final["result"]["file_size"] == len(expected)


def test_a_failed_export_removes_its_file_and_a_retry_writes_it_whole(backend: Backend) -> None:
    assert backend.cli("products", "seed", "--count", "3000", "--variants", "1").code == 0
    reference = create(backend)
    assert backend.burst().code == 0
    expected = Path(show(backend, reference)["result"]["file_key"]).read_bytes()

    # 300 chunks: enough to break it mid-way, few enough that a loaded machine runs the retry in time.
    job_id = create(backend, "-c", "chunk_size=10")
    backend.start_worker()
    wait_until(lambda: (show(backend, job_id)["result"] or {}).get("advancement_count", 0) >= 20)
    path = Path(show(backend, job_id)["result"]["file_key"])
    execute(backend, "ALTER TABLE product_variant RENAME TO product_variant_gone")  # the next chunk's query fails
    assert backend.cli("wait", job_id, "--timeout", "120").code == 1
    failed = show(backend, job_id)
    assert failed["status"] == "failed"
    assert "product_variant" in failed["result"]["errors"][-1]["message"]
    assert failed["result"]["file_key"] is None
    assert not path.exists()

    execute(backend, "ALTER TABLE product_variant_gone RENAME TO product_variant")
    assert backend.cli("retry", job_id, "-q").code == 0
    assert backend.cli("wait", job_id, "--timeout", "120").code == 0
    final = show(backend, job_id)
    assert path.read_bytes() == expected
    assert final["result"]["advancement_count"] == final["result"]["count"] == 3000
