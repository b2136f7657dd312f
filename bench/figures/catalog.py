"""Product export and import of N variants against raw baselines, and the worker's peak memory doing both.

The catalog is seeded before any clock starts (N variants, 2 per product, with options, prices in 2
currencies and a region, 1-3 images, tags; see catalog_seed.py). batchctl's side is a real `batchctl worker`,
already running and warmed up by a noop job, and a job timed by its own row: ``created_at`` to
``completed_at``, both written by batchctl. The baselines (bench/raw_catalog.py) run in their own
process and time their work only.

- export: a ``product-export`` job of the seeded catalog, against one raw SELECT into ``csv.writer``;
  both sides read the same seeded database, interleaved.
- import: a ``product-import`` job (pre-processing checks every row, then processing) of batchctl's
  export into an empty catalog, against ``csv.reader`` + ``executemany`` in one transaction; each run
  on a fresh stage.
- memory: the worker's peak RSS (VmHWM) during an export of N variants, and, in a fresh worker, during
  the import of that file into an empty catalog; the larger of the two is the figure. When N is the
  export/import figure's (as at --quick sizes), that figure's workers already did exactly this: their
  peaks are reported instead of running the same jobs again.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog_seed import seed_catalog
from harness import Figure, Goal, Options, interleaved, progress, seconds_figure
from procfs import peak_rss_mb
from stages import BENCH, Backend, Stage, patience, run_process, seconds_between, wait_for_job, warm_up

if TYPE_CHECKING:
    from batchctl.runtime import Runtime

EXPORT_GOAL = Goal(">=", 0.5)
IMPORT_GOAL = Goal(">=", 0.6)
MEMORY_GOAL = Goal("<=", 100, "MB")


def _count(n: int) -> str:
    """100000 → 100k, 1000000 → 1M: the issue's names for the sizes."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


@contextmanager
def _ready_worker(stage: Stage) -> Iterator[tuple[Runtime, subprocess.Popen[str]]]:
    """A running worker that has finished a noop job, so a job timed next holds none of its start-up."""
    with stage.worker() as worker:
        runtime = stage.runtime()
        try:
            warm_up(runtime)
            yield runtime, worker
        finally:
            runtime.db.discard_connection()


def _run_job(runtime: Runtime, batch_type: str, context: dict[str, Any], variants: int) -> dict[str, Any]:
    """Create a confirmed job and wait until it completes; its row."""
    from batchctl.service import create_job

    job_id = create_job(runtime, batch_type, context, dry_run=False)["id"]
    # A slow poll: the job's own timestamps are the measure, and each poll is a read on the busy database.
    job: dict[str, Any] = wait_for_job(runtime, job_id, ("completed",), timeout=patience(variants, 0.005), poll=0.1)
    return job


def _raw(stage: Stage, mode: str, file: Path, variants: int) -> dict[str, float]:
    """Run ``raw_catalog.py MODE`` on the stage: its seconds and peak MB."""
    command = [sys.executable, str(BENCH / "raw_catalog.py"), mode, stage.database_url(), str(file)]
    out = run_process(command, env=stage.process_env(), cwd=stage.tmp, timeout=patience(variants, 0.005))
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _variant_count(stage: Stage) -> int:
    runtime = stage.runtime()
    with runtime.db.transaction(write=False) as tx:
        count = int(tx.execute("SELECT COUNT(*) FROM product_variant").scalar())
    runtime.db.discard_connection()
    return count


def _check_imported(stage: Stage, variants: int, who: str) -> None:
    """Outside the clock: did the import really write every variant?"""
    count = _variant_count(stage)
    if count != variants:
        raise RuntimeError(f"{stage.backend}: {who} imported {count} of {variants} variants")


def _speed_figure(
    kind: str, backend: Backend, variants: int, ours: list[float], theirs: list[float], goal: Goal, note: str
) -> Figure:
    return seconds_figure(f"product {kind}, {_count(variants)} variants", backend.name, ours, theirs, goal, [note])


@dataclass
class Peaks:
    """Peak RSS (MB) of the worker that exported N variants, and of the one that imported them; the jobs' s."""

    export_mb: float = 0.0
    import_mb: float = 0.0
    export_s: float = 0.0
    import_s: float = 0.0


# (backend, variants) → the peaks of the export/import figure's workers. At --quick sizes the memory
# figure's jobs would be the same ones: it reads these instead of paying for two more workers.
MEASURED: dict[tuple[str, int], Peaks] = {}


def _export(backend: Backend, options: Options, keep: Path, peaks: Peaks) -> Figure:
    """The export figure; batchctl's first export file is moved to ``keep`` for the import figure."""
    variants = options.variants
    raw_mb: list[float] = []
    files: list[str] = []
    with backend.stage() as stage:
        seeded = seed_catalog(stage, variants)
        progress(options, f"{backend.name} export: seeded {variants} variants in {seeded:.1f} s")
        with _ready_worker(stage) as (runtime, worker):

            def ours() -> float:
                job = _run_job(runtime, "product-export", {}, variants)
                files.append(job["result"]["file_key"])
                seconds = seconds_between(job, "created_at", "completed_at")
                progress(options, f"{backend.name} export: batchctl {seconds:.2f} s")
                return seconds

            def theirs() -> float:
                raw = _raw(stage, "export", stage.tmp / "raw.csv", variants)
                raw_mb.append(raw["peak_mb"])
                progress(options, f"{backend.name} export: raw {raw['seconds']:.2f} s")
                return raw["seconds"]

            batchctl_s, raw_s = interleaved(options.scale_rounds, ours, theirs)
            peaks.export_mb, peaks.export_s = peak_rss_mb(worker.pid), max(batchctl_s)
        shutil.move(files[0], keep)
    note = (
        f"{backend.name} export of {variants} variants: seeding {seeded:.1f} s (set-up); "
        f"raw peak {max(raw_mb):.0f} MB; file {keep.stat().st_size / 1e6:.0f} MB"
    )
    return _speed_figure("export", backend, variants, batchctl_s, raw_s, EXPORT_GOAL, note)


def _import(backend: Backend, options: Options, source: Path, peaks: Peaks) -> Figure:
    """The import figure: ``source`` (an export of N variants) into a fresh, empty catalog per run."""
    variants = options.variants
    checked: list[float] = []
    applied: list[float] = []

    def ours() -> float:
        with backend.stage() as stage:
            with _ready_worker(stage) as (runtime, worker):
                job = _run_job(runtime, "product-import", {"file_key": str(source)}, variants)
                peaks.import_mb = max(peaks.import_mb, peak_rss_mb(worker.pid))
            _check_imported(stage, variants, "batchctl")
        checked.append(seconds_between(job, "created_at", "pre_processed_at"))
        applied.append(seconds_between(job, "processing_at", "completed_at"))
        seconds = seconds_between(job, "created_at", "completed_at")
        peaks.import_s = max(peaks.import_s, seconds)
        progress(options, f"{backend.name} import: batchctl {seconds:.2f} s")
        return seconds

    def theirs() -> float:
        with backend.stage() as stage:
            raw = _raw(stage, "import", source, variants)
            _check_imported(stage, variants, "the raw baseline")
        progress(options, f"{backend.name} import: raw {raw['seconds']:.2f} s")
        return raw["seconds"]

    batchctl_s, raw_s = interleaved(options.scale_rounds, ours, theirs)
    note = (
        f"{backend.name} import of {variants} variants, medians: pre-processing (check + spool) "
        f"{statistics.median(checked):.2f} s, processing {statistics.median(applied):.2f} s"
    )
    return _speed_figure("import", backend, variants, batchctl_s, raw_s, IMPORT_GOAL, note)


def export_import(backend: Backend, options: Options) -> list[Figure]:
    """Export, then import of that export, each against its raw baseline, at ``options.variants``."""
    peaks = Peaks()
    with tempfile.TemporaryDirectory(dir=backend.workdir) as kept:
        source = Path(kept) / "export.csv"
        figures = [_export(backend, options, source, peaks), _import(backend, options, source, peaks)]
    MEASURED[(backend.name, options.variants)] = peaks
    return figures


def _peak_during(stage: Stage, batch_type: str, context: dict[str, Any], variants: int) -> tuple[float, dict[str, Any]]:
    """A fresh worker's peak RSS (MB) over a noop warm-up and then one job; and the job's row."""
    with _ready_worker(stage) as (runtime, worker):
        job = _run_job(runtime, batch_type, context, variants)
        return peak_rss_mb(worker.pid), job


def _measure_peaks(backend: Backend, options: Options, variants: int) -> tuple[Peaks, str]:
    """An export of N seeded variants in one fresh worker, its import into an empty catalog in another."""
    with tempfile.TemporaryDirectory(dir=backend.workdir) as kept:
        source = Path(kept) / "export.csv"
        with backend.stage() as stage:
            seeded = seed_catalog(stage, variants)
            progress(options, f"{backend.name} memory: seeded {variants} variants in {seeded:.1f} s")
            export_mb, exported = _peak_during(stage, "product-export", {}, variants)
            shutil.move(exported["result"]["file_key"], source)
        export_s = seconds_between(exported, "created_at", "completed_at")
        progress(options, f"{backend.name} memory: export {export_s:.1f} s, peak {export_mb:.0f} MB")
        with backend.stage() as stage:
            import_mb, imported = _peak_during(stage, "product-import", {"file_key": str(source)}, variants)
            _check_imported(stage, variants, "batchctl")
    import_s = seconds_between(imported, "created_at", "completed_at")
    progress(options, f"{backend.name} memory: import {import_s:.1f} s, peak {import_mb:.0f} MB")
    return Peaks(export_mb, import_mb, export_s, import_s), f"seeding {seeded:.1f} s (set-up)"


def memory(backend: Backend, options: Options) -> list[Figure]:
    """The worker's peak RSS during an export and during an import of ``options.memory_variants`` variants."""
    variants = options.memory_variants
    peaks = MEASURED.get((backend.name, variants))
    where = "the workers of the export/import figure"
    if peaks is None:
        peaks, where = _measure_peaks(backend, options, variants)
    peak = max(peaks.export_mb, peaks.import_mb)
    return [
        Figure(
            figure=f"peak memory of import/export of {_count(variants)} variants",
            backend=backend.name,
            batchctl=peak,
            batchctl_text=f"{peak:.0f} MB",
            goal=MEMORY_GOAL,
            samples={"export_mb": [peaks.export_mb], "import_mb": [peaks.import_mb]},
            notes=[
                f"{backend.name} worker peak RSS with {variants} variants: export {peaks.export_mb:.0f} MB "
                f"({peaks.export_s:.1f} s), import {peaks.import_mb:.0f} MB ({peaks.import_s:.1f} s); {where}"
            ],
        )
    ]
