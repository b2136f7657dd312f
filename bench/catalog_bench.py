"""Product export and import of N variants against raw baselines measured in the same run, with peak memory.

    python bench/catalog_bench.py [--variants 100000] [--backend sqlite|postgres|all] [--rounds 1] [--json]

- export: a ``product-export`` job of a seeded catalog (N variants, 2 per product, with options,
  prices in 2 currencies and a region, 1-3 images, tags), timed from its ``created_at`` to its
  ``completed_at`` with a worker already running; against one raw ``SELECT`` of the same columns
  (correlated subqueries for prices, options, images and tags) streamed into ``csv.writer``.
- import: a ``product-import`` job of that export into an empty catalog (pre-processing, which
  checks every row, plus processing), timed the same way; against a raw script that reads the file
  with ``csv.reader`` and ``executemany``-inserts the same rows in one transaction, with no checks.

ratio = raw seconds / batchctl seconds (1.0: as fast as raw). Goals: export >= 0.5, import >= 0.3.
Peak memory is the peak RSS (VmHWM) of the worker process, and ``ru_maxrss`` of the raw one; goal:
under 200 MB for both jobs. The baselines run in their own processes, as the worker does.

For bench/run.py: ``export_figure(stage_factory, variants)`` and ``import_figure(...)`` take a
callable returning a context manager that yields a fresh, migrated backend (an object with ``env``,
the ``BATCHCTL_*`` variables, and ``tmp``, a scratch folder), e.g. run.py's ``Backend.stage``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PG_ADMIN_URL = os.environ.get("BATCHCTL_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATCHCTL_BENCH_REDIS", "redis://127.0.0.1:6379/0")
EXPORT_GOAL = 0.5
IMPORT_GOAL = 0.3
MEMORY_GOAL_MB = 200.0
VARIANTS_PER_PRODUCT = 2


def _ensure_project_python() -> None:
    try:
        import batchctl  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable).resolve() != VENV_PYTHON.resolve():
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        raise


@dataclass
class CatalogFigure:
    """One measured job against its raw baseline."""

    figure: str
    backend: str
    variants: int
    batchctl_s: float
    raw_s: float
    batchctl_peak_mb: float
    raw_peak_mb: float
    goal: float
    details: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Raw seconds over batchctl seconds: the share of raw speed batchctl reaches."""
        return self.raw_s / self.batchctl_s

    @property
    def met(self) -> bool:
        """Speed and memory goals both met."""
        return self.ratio >= self.goal and self.batchctl_peak_mb < MEMORY_GOAL_MB

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 4), "met": self.met}


# -- stages: a fresh, migrated backend ---------------------------------------------------------------------------


@dataclass
class Stage:
    """A fresh backend: ``env`` points batchctl at it; ``tmp`` is scratch space."""

    backend: str
    env: dict[str, str]
    tmp: Path


def _env(tmp: Path) -> dict[str, str]:
    return {
        "BATCHCTL_HOME": str(tmp / "home"),
        "BATCHCTL_FILES": str(tmp / "files"),
        "BATCHCTL_USER": "bench",
        "BATCHCTL_QUEUE_NAME": f"batchctl-catalog-bench-{uuid.uuid4().hex[:12]}",
        "BATCHCTL_POLL_INTERVAL": "0.02",
        "NO_COLOR": "1",
    }


@contextlib.contextmanager
def sqlite_stage(workdir: Path) -> Iterator[Stage]:
    """A fresh SQLite database (the embedded default's kind) and queue."""
    from batchctl.db import Database
    from batchctl.schema import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="catalog-sqlite-", dir=workdir))
    env = _env(tmp)
    env["BATCHCTL_DATABASE_URL"] = f"sqlite:///{tmp / 'catalog.db'}"
    upgrade(Database(env["BATCHCTL_DATABASE_URL"]))
    try:
        yield Stage("sqlite", env, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def postgres_stage(workdir: Path) -> Iterator[Stage]:
    """A fresh PostgreSQL database (migrated) and a Redis queue of its own."""
    import psycopg

    from batchctl.db import Database
    from batchctl.schema import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="catalog-postgres-", dir=workdir))
    name = f"batchctl_catalog_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    env = _env(tmp)
    env["BATCHCTL_DATABASE_URL"] = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    env["BATCHCTL_REDIS_URL"] = REDIS_URL
    try:
        upgrade(Database(env["BATCHCTL_DATABASE_URL"]))
        yield Stage("postgres", env, tmp)
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"*{env['BATCHCTL_QUEUE_NAME']}*"))
        if keys:
            client.delete(*keys)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


# -- batchctl's side: a real worker process, the job timed by its own timestamps ------------------------------------


def _process_env(stage: Any) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BATCHCTL_")}
    env.update(stage.env)
    env.setdefault("BATCHCTL_FILES", str(Path(stage.tmp) / "files"))
    return env


@contextlib.contextmanager
def _patched_environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _runtime(stage: Any) -> Any:
    from dataclasses import replace

    from batchctl.config import Settings
    from batchctl.service import Runtime

    with _patched_environ(_process_env(stage)):
        settings = Settings.from_env()
    return Runtime(replace(settings, strategy_paths=()))


def database_url(stage: Any) -> str:
    """The stage's database URL as batchctl resolves it (the embedded default has none in the env)."""
    runtime = _runtime(stage)
    url: str = runtime.settings.database_url
    return url


def seed(stage: Any, variants: int) -> None:
    """Fill the stage's catalog with ``variants`` variants (outside any clock)."""
    from batchctl.catalog.products import seed_products

    runtime = _runtime(stage)
    with runtime.db.transaction() as tx:
        seed_products(tx, max(1, variants // VARIANTS_PER_PRODUCT), variants=VARIANTS_PER_PRODUCT)
    runtime.db.close()


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_job(
    stage: Any, batch_type: str, context: dict[str, Any], timeout: float = 1800
) -> tuple[dict[str, Any], float]:
    """Run one job with a fresh worker process; returns the job's JSON and the worker's peak RSS in MB."""
    from batchctl import store
    from batchctl.service import create_job, get_job

    runtime = _runtime(stage)
    worker = subprocess.Popen(
        [sys.executable, "-m", "batchctl", "worker"],
        env=_process_env(stage),
        cwd=stage.tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2.0)  # imports and queue set-up happen before the job exists, not on its clock
        row = create_job(runtime, batch_type, context, dry_run=False)
        deadline = time.monotonic() + timeout
        while True:
            job = store.public_job(get_job(runtime, row["id"]))
            if job["status"] in ("completed", "failed", "canceled"):
                break
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"{batch_type} did not finish: {job['status']}")
            time.sleep(0.1)
        peak_mb = _peak_rss_kb(worker.pid) / 1024
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _, stderr = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, stderr = worker.communicate()
        runtime.db.close()
    if job["status"] != "completed":
        raise RuntimeError(f"{batch_type} ended {job['status']}: {job['result'].get('errors')} {stderr[-2000:]}")
    return job, peak_mb


def _seconds(job: dict[str, Any], start: str, end: str) -> float:
    from datetime import datetime

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text.rstrip("Z"))

    return (moment(job[end]) - moment(job[start])).total_seconds()


# -- the raw baselines (run as `python catalog_bench.py raw-export|raw-import ...`) ----------------------------------


def _raw_connect(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite:///"):
        import sqlite3

        return sqlite3.connect(url[len("sqlite:///") :], isolation_level=None), "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


def _raw_export_sql(dialect: str) -> str:
    def nth(table: str, column: str, owner: str, index: int) -> str:
        return (
            f"(SELECT {column} FROM {table} x WHERE x.product_id = {owner} ORDER BY x.position, x.id "
            f"LIMIT 1 OFFSET {index})"
        )

    tags = (
        "(SELECT string_agg(g.value, ',' ORDER BY l.position) FROM product_tags l "
        "JOIN product_tag g ON g.id = l.tag_id WHERE l.product_id = p.id)"
        if dialect == "postgresql"
        else "(SELECT group_concat(value, ',') FROM (SELECT g.value FROM product_tags l JOIN product_tag g "
        "ON g.id = l.tag_id WHERE l.product_id = p.id ORDER BY l.position))"
    )
    price = "(SELECT m.amount FROM money_amount m WHERE m.variant_id = v.id AND {cond} LIMIT 1)"
    columns = [
        "p.id, p.handle, p.title, p.subtitle, p.description, p.status, p.thumbnail, p.weight, p.length, p.width",
        "p.height, p.hs_code, p.origin_country, p.mid_code, p.material, c.title, c.handle, t.value",
        tags,
        "p.discountable, p.external_id, v.id, v.title, v.sku, v.barcode, v.inventory_quantity, v.allow_backorder",
        "v.manage_inventory, v.weight, v.length, v.width, v.height, v.hs_code, v.origin_country, v.mid_code",
        "v.material",
        price.format(cond="COALESCE(m.region_id, 0) = 0 AND m.currency_code = 'eur'"),
        price.format(cond="COALESCE(m.region_id, 0) = 0 AND m.currency_code = 'usd'"),
        price.format(cond="COALESCE(m.region_id, 0) = (SELECT id FROM region WHERE name = 'Europe')"),
    ]
    for index in range(2):
        columns.append(nth("product_option", "x.title", "p.id", index))
        columns.append(
            "(SELECT ov.value FROM product_option_value ov WHERE ov.variant_id = v.id AND ov.option_id = "
            f"{nth('product_option', 'x.id', 'p.id', index)})"
        )
    columns += [nth("product_image", "x.url", "p.id", index) for index in range(3)]
    return (
        f"SELECT {', '.join(columns)} FROM product_variant v JOIN product p ON p.id = v.product_id "
        "LEFT JOIN product_collection c ON c.id = p.collection_id LEFT JOIN product_type t ON t.id = p.type_id "
        "ORDER BY p.id, v.variant_rank, v.id"
    )


def raw_export(url: str, out: Path) -> None:
    """One SELECT of the export's columns, fetchmany() into csv.writer: no job, no guard, no formatting."""
    connection, _ = _raw_connect(url)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    started = time.perf_counter()
    cursor = connection.cursor()
    if dialect == "postgresql":
        cursor.execute("SET jit = off")  # as batchctl does: compiling costs more than the query
    cursor.execute(_raw_export_sql(dialect))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        while rows := cursor.fetchmany(2000):
            writer.writerows(rows)
    seconds = time.perf_counter() - started
    connection.close()
    _report_raw(seconds)


def raw_import(url: str, source: Path) -> None:
    """csv.reader over the file, executemany() of the same rows in one transaction: no checks, no lookups."""
    connection, mark = _raw_connect(url)
    started = time.perf_counter()
    cursor = connection.cursor()
    if mark == "?":
        cursor.execute("BEGIN")
    ins: dict[str, list[tuple[Any, ...]]] = {}
    sql: dict[str, str] = {}

    def table(name: str, columns: str) -> list[tuple[Any, ...]]:
        count = columns.count(",") + 1
        sql[name] = f"INSERT INTO {name} ({columns}) VALUES ({', '.join([mark] * count)})"
        return ins.setdefault(name, [])

    products = table("product", "id, handle, title, subtitle, description, status, thumbnail, weight, discountable, "
                     "external_id, collection_id, type_id, created_at, updated_at")  # fmt: skip
    variants = table("product_variant", "id, product_id, title, sku, barcode, inventory_quantity, allow_backorder, "
                     "manage_inventory, weight, variant_rank, created_at")  # fmt: skip
    options = table("product_option", "id, product_id, title, position")
    values = table("product_option_value", "variant_id, option_id, value")
    prices = table("money_amount", "variant_id, currency_code, region_id, amount")
    images = table("product_image", "product_id, url, position")
    links = table("product_tags", "product_id, tag_id, position")
    lookups: dict[str, dict[str, int]] = {"product_collection": {}, "product_type": {}, "product_tag": {}, "region": {}}
    seen: dict[str, dict[str, int]] = {}
    now = "2026-01-01 00:00:00"

    def lookup(kind: str, key: str, insert: str, params: tuple[Any, ...]) -> int:
        if key not in lookups[kind]:
            cursor.execute(insert.replace("?", mark), params)
            cursor.execute(f"SELECT max(id) FROM {kind}")
            lookups[kind][key] = int(cursor.fetchone()[0])
        return lookups[kind][key]

    def flush() -> None:
        for name, rows in ins.items():
            if rows:
                cursor.executemany(sql[name], rows)
                rows.clear()

    region = lookup("region", "Europe", "INSERT INTO region (name, currency_code) VALUES (?, ?)", ("Europe", "eur"))
    option_id = 0
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader)
        at = {name: i for i, name in enumerate(header)}
        for number, r in enumerate(reader):
            pid = r[0]
            if pid not in seen:
                collection = (
                    lookup("product_collection", r[16], "INSERT INTO product_collection (handle, title) VALUES (?, ?)",
                           (r[16], r[15])) if r[16] else None
                )  # fmt: skip
                kind = lookup("product_type", r[17], "INSERT INTO product_type (value) VALUES (?)", (r[17],))
                products.append((pid, r[1], r[2], r[3] or None, r[4] or None, r[5], r[6] or None, int(r[7] or 0),
                                 r[19] == "true", r[20] or None, collection, kind, now, now))  # fmt: skip
                for position, tag in enumerate(t for t in r[18].split(",") if t):
                    links.append((pid, lookup("product_tag", tag, "INSERT INTO product_tag (value) VALUES (?)", (tag,)),
                                  position))  # fmt: skip
                for position in range(3):
                    url = r[at[f"Image {position + 1} Url"]]
                    if url:
                        images.append((pid, url, position))
                seen[pid] = {}
                for position in range(2):
                    option_id += 1
                    options.append((option_id, pid, r[at[f"Option {position + 1} Name"]], position))
                    seen[pid][r[at[f"Option {position + 1} Name"]]] = option_id
            vid = r[23]
            variants.append((vid, pid, r[24], r[25] or None, r[26] or None, int(r[27] or 0), r[28] == "true",
                             r[29] == "true", int(r[30]) if r[30] else None, number, now))  # fmt: skip
            for position in range(2):
                name, value = r[at[f"Option {position + 1} Name"]], r[at[f"Option {position + 1} Value"]]
                values.append((vid, seen[pid][name], value))
            for column, currency, region_id in (("Price EUR", "eur", None), ("Price USD", "usd", None),
                                                ("Price Europe [EUR]", "eur", region)):  # fmt: skip
                cell = r[at[column]]
                if cell:
                    prices.append((vid, currency, region_id, round(float(cell) * 100)))
            if len(variants) >= 2000:
                flush()
    flush()
    if mark == "?":
        cursor.execute("COMMIT")
    else:
        connection.commit()
    seconds = time.perf_counter() - started
    connection.close()
    _report_raw(seconds)


def _report_raw(seconds: float) -> None:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (bigger) parent that forked us.
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_rss_kb(os.getpid()) / 1024}))


def _run_raw(stage: Any, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=_process_env(stage),
        cwd=stage.tmp,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"raw baseline {args[0]} failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the figures ---------------------------------------------------------------------------------------------------


StageFactory = Callable[[], contextlib.AbstractContextManager[Any]]


def _figure(
    kind: str, stage: Any, variants: int, job: dict[str, Any], peak_mb: float, raw: dict[str, Any], goal: float
) -> CatalogFigure:
    """One figure from a finished batchctl job and the raw baseline's run."""
    return CatalogFigure(
        figure=f"product {kind} ({variants} variants)",
        backend=getattr(stage, "backend", "?"),
        variants=variants,
        batchctl_s=_seconds(job, "created_at", "completed_at"),
        raw_s=raw["seconds"],
        batchctl_peak_mb=peak_mb,
        raw_peak_mb=raw["peak_mb"],
        goal=goal,
        details={
            "pre_process_s": _seconds(job, "created_at", "pre_processed_at"),
            "process_s": _seconds(job, "processing_at", "completed_at"),
        },
    )


def export_figure(stage_factory: StageFactory, variants: int) -> tuple[CatalogFigure, Path]:
    """Export N variants with batchctl and with the raw baseline; returns the figure and batchctl's file (kept)."""
    with stage_factory() as stage:
        seed(stage, variants)
        raw = _run_raw(stage, "raw-export", database_url(stage), str(Path(stage.tmp) / "raw.csv"))
        job, peak_mb = run_job(stage, "product-export", {})
        kept = Path(tempfile.mkdtemp(prefix="catalog-export-")) / "export.csv"
        shutil.copyfile(job["result"]["file_key"], kept)
        figure = _figure("export", stage, variants, job, peak_mb, raw, EXPORT_GOAL)
        figure.details["file_mb"] = job["result"]["file_size"] / 1e6
    return figure, kept


def import_figure(stage_factory: StageFactory, variants: int, source: Path) -> CatalogFigure:
    """Import ``source`` (an export of N variants) into empty catalogs, with batchctl and with the raw baseline."""
    with stage_factory() as stage:
        _runtime(stage).db.close()  # the embedded default makes its schema on first use, outside the clock
        raw = _run_raw(stage, "raw-import", database_url(stage), str(source))
    with stage_factory() as stage:
        job, peak_mb = run_job(stage, "product-import", {"file_key": str(source)})
        return _figure("import", stage, variants, job, peak_mb, raw, IMPORT_GOAL)


def print_table(figures: list[CatalogFigure]) -> None:
    """The figures as a small table (stdout), details under it."""
    rows = [["figure", "backend", "batchctl", "raw", "ratio", "goal", "peak RSS", "raw RSS", "met"]]
    for f in figures:
        rows.append(
            [
                f.figure,
                f.backend,
                f"{f.batchctl_s:.2f} s",
                f"{f.raw_s:.2f} s",
                f"{f.ratio:.2f}",
                f">= {f.goal:.2f}",
                f"{f.batchctl_peak_mb:.0f} MB",
                f"{f.raw_peak_mb:.0f} MB",
                "yes" if f.met else "NO",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    for f in figures:
        details = ", ".join(f"{key} {value:.2f}" for key, value in f.details.items())
        print(f"  {f.figure} on {f.backend}: {details}")


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "raw-export", "raw-import"])
    parser.add_argument("args", nargs="*")
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if options.mode == "raw-export":
        raw_export(options.args[0], Path(options.args[1]))
        return 0
    if options.mode == "raw-import":
        raw_import(options.args[0], Path(options.args[1]))
        return 0
    backends = ["sqlite", "postgres"] if options.backend == "all" else [options.backend]
    workdir = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    figures: list[CatalogFigure] = []
    started = time.monotonic()
    try:
        for name in backends:
            factory: StageFactory = (
                (lambda: sqlite_stage(workdir)) if name == "sqlite" else (lambda: postgres_stage(workdir))
            )
            print(f"  {name}: export of {options.variants} variants…", file=sys.stderr, flush=True)
            exported, source = export_figure(factory, options.variants)
            figures.append(exported)
            print(f"  {name}: import of {options.variants} variants…", file=sys.stderr, flush=True)
            figures.append(import_figure(factory, options.variants, source))
            shutil.rmtree(source.parent, ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if options.json:
        print(json.dumps([f.as_json() for f in figures], indent=2))
    else:
        load = os.getloadavg()[0]
        print(
            f"batchctl catalog bench (python {platform.python_version()}, {os.cpu_count()} cpus, "
            f"load {load:.2f}; {time.monotonic() - started:.0f}s)"
        )
        print_table(figures)
    return 0


if __name__ == "__main__":
    _ensure_project_python()
    sys.exit(main())
