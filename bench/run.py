"""batchctl's benchmark: each figure is batchctl against a raw baseline measured in the same run.

    python bench/run.py [--quick] [--backend sqlite|postgres|all] [--figure NAME ...] [--json]

Every figure is a ratio, so that a slow or busy machine moves both sides alike: batchctl and its baseline
are measured interleaved (A/B, then B/A, ...) and the medians are reported. The figures live in
bench/figures/, one module each; FIGURES below lists them in the order of the table. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"


def _ensure_project_python() -> None:
    """`python bench/run.py` from a shell without the venv: re-run under the project's .venv."""
    try:
        import batchctl  # noqa: F401
    except ImportError:
        # Compare prefixes, not executables: the venv's python is a symlink to the one running now.
        if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        raise


_ensure_project_python()

# bench/ is sys.path[0] when run as a script.
from figures import catalog, deliveries, http, latency, lifecycle, peers, publish, show  # noqa: E402
from harness import SIZES, Figure, Options, format_table, progress  # noqa: E402
from stages import BACKENDS, batchctl_command  # noqa: E402

FigureFunction = Callable[[Any, Options], list[Figure]]

FIGURES: dict[str, FigureFunction] = {
    "lifecycle": lifecycle.one_worker,
    "lifecycle4": lifecycle.four_workers,
    "show": show.cold_show,
    "latency": latency.confirm_latency,
    "catalog": catalog.export_import,
    "memory": catalog.memory,
    "publish": publish.publish_products,
    "http": http.get_job_rps,
    "deliveries": deliveries.keeps_up,
}
# Figures that compare the backends' batchctl with the same peers, so they run once with every backend.
CROSS_FIGURES: dict[str, Callable[[list[Any], Options], list[Figure]]] = {
    "peers": peers.peers,
}


def describe_run(options: Options) -> dict[str, Any]:
    return {
        "mode": "quick" if options.quick else "full",
        **{name: getattr(options, name) for name in SIZES},
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "batchctl_command": batchctl_command(),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="batchctl against raw baselines measured in the same run (ratios; see bench/README.md).",
    )
    parser.add_argument("--quick", action="store_true", help="a CI smoke run: every figure, smaller (<1 min)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all", help="default: all")
    for name, (full, quick, what) in SIZES.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, metavar="N", help=f"{what} ({full}; --quick {quick})"
        )
    parser.add_argument(
        "--figure", action="append", choices=[*FIGURES, *CROSS_FIGURES], help="only this figure (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON (with every sample) instead of the table")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    for name in SIZES:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options.make(quick=args.quick, verbose=not args.quiet, **{name: getattr(args, name) for name in SIZES})
    names = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    wanted = args.figure or [*FIGURES, *CROSS_FIGURES]
    chosen = [FIGURES[name] for name in wanted if name in FIGURES]
    cross = [CROSS_FIGURES[name] for name in wanted if name in CROSS_FIGURES]
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="batchctl-bench-") as workdir:
        backends = [BACKENDS[name](Path(workdir)) for name in names]
        try:
            for backend in backends:
                backend.check()
                for measure in chosen:
                    began = time.perf_counter()
                    figures.extend(measure(backend, options))
                    progress(options, f"{backend.name} {measure.__name__}: {time.perf_counter() - began:.1f}s")
            for measure_all in cross:
                began = time.perf_counter()
                figures.extend(measure_all(backends, options))
                progress(options, f"{measure_all.__name__}: {time.perf_counter() - began:.1f}s")
        finally:
            for backend in backends:
                backend.close()
    elapsed = time.perf_counter() - started
    run = {**describe_run(options), "seconds": round(elapsed, 1)}
    if args.json:
        print(json.dumps({"run": run, "figures": [f.as_json() for f in figures]}, indent=2))
        return 0
    print(
        f"batchctl bench ({run['mode']}; python {run['python']}, {run['cpus']} cpus, "
        f"load {run['load_average'][0]}; {elapsed:.0f}s)"
    )
    print(format_table(figures))
    notes = [note for f in figures for note in f.notes]
    if notes:
        print()
        print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
