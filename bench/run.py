"""batchctl's benchmark: each figure is batchctl against a raw baseline measured in the same run.

    python bench/run.py [--quick] [--backend sqlite|postgres|all] [--jobs N] [--json]

Every figure is a ratio, so that a slow or busy machine moves both sides alike: batchctl and its
baseline are measured interleaved (A/B, then B/A, ...) over a few rounds and the medians are reported.
A figure is a function ``(backend, options) -> Figure``; add one to FIGURES. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


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

from raw_huey import QueueSpec, RawQueue  # noqa: E402  (bench/ is sys.path[0] when run as a script)

if TYPE_CHECKING:
    from batchctl.config import Settings

PG_ADMIN_URL = os.environ.get("BATCHCTL_BENCH_POSTGRES", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATCHCTL_BENCH_REDIS", "redis://127.0.0.1:6379/0")
IMPORTS_BASELINE = "import typer, rich, sqlmodel, huey, redis"


# -- options ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """How much to measure: --quick is a CI smoke run (under a minute for everything)."""

    quick: bool
    jobs: int
    rounds: int
    show_runs: int
    verbose: bool

    @classmethod
    def make(
        cls, *, quick: bool, jobs: int | None, rounds: int | None, show_runs: int | None, verbose: bool
    ) -> Options:
        return cls(
            quick=quick,
            jobs=jobs or (200 if quick else 500),
            rounds=rounds or (3 if quick else 5),
            show_runs=show_runs or (7 if quick else 15),
            verbose=verbose,
        )


def progress(options: Options, message: str) -> None:
    """A line on stderr while measuring (the table goes to stdout)."""
    if options.verbose:
        print(f"  {message}", file=sys.stderr, flush=True)


# -- commands --------------------------------------------------------------------------------------------------


def batchctl_command() -> list[str]:
    """The installed console script beside this interpreter (what users run), else ``python -m batchctl``."""
    script = Path(sys.executable).with_name("batchctl")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "batchctl"]


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any BATCHCTL_* of the caller's, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BATCHCTL_")}
    env.update(extra)
    return env


def run_process(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> str:
    """Run a command to completion; its stdout, or RuntimeError with its stderr when it failed."""
    try:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{' '.join(command)} did not finish within {timeout:g}s") from None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def drain_timeout(jobs: int) -> float:
    """Generous: a hung worker must fail the run, never a slow one."""
    return 120.0 + jobs * 0.5


# -- backends: one fresh, isolated database + queue per measurement --------------------------------------------


@dataclass
class Stage:
    """One fresh backend: the env that points batchctl at it, and the raw queue on the same kind of storage."""

    backend: str
    tmp: Path
    env: dict[str, str]
    raw: QueueSpec

    def process_env(self) -> dict[str, str]:
        return clean_env(self.env)

    def settings(self) -> Settings:
        """batchctl's Settings for this stage, read the way the CLI reads them (from the environment)."""
        from batchctl.config import Settings

        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(self.process_env())
            settings = Settings.from_env()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        # The worker runs in self.tmp, where there is no ./strategies: only the built-ins, on both sides.
        return replace(settings, strategy_paths=())


def _base_env(tmp: Path) -> dict[str, str]:
    return {
        "BATCHCTL_HOME": str(tmp / "home"),
        "BATCHCTL_USER": "bench",
        "BATCHCTL_QUEUE_NAME": f"batchctl-bench-{uuid.uuid4().hex[:12]}",
        "NO_COLOR": "1",
    }


class Backend:
    """Where a figure runs; ``stage()`` gives a fresh one per measurement."""

    name = ""
    label = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def check(self) -> None:
        """Fail early, with a clear message, when the backend's servers are not there."""

    def stage(self) -> contextlib.AbstractContextManager[Stage]:
        """A fresh database and queue, removed afterwards."""
        raise NotImplementedError

    def close(self) -> None:
        """Remove what the backend set up once (templates)."""


class SqliteBackend(Backend):
    """The embedded default: no BATCHCTL_DATABASE_URL, so SQLite in BATCHCTL_HOME with the queue beside it."""

    name = "sqlite"
    label = "SQLite (embedded default)"

    @contextlib.contextmanager
    def stage(self) -> Iterator[Stage]:
        tmp = Path(tempfile.mkdtemp(prefix="sqlite-", dir=self.workdir))
        env = _base_env(tmp)
        home = tmp / "home"
        home.mkdir()
        stage = Stage(self.name, tmp, env, QueueSpec("sqlite", f"raw-{uuid.uuid4().hex[:12]}", str(home / "raw.queue")))
        try:
            _migrate(stage)
            yield stage
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _migrate(stage: Stage) -> None:
    """The schema is set-up, not lifecycle: make it before any clock starts (the embedded DB migrates itself)."""
    from batchctl.service import Runtime

    runtime = Runtime(stage.settings())
    runtime.db.close()


class PostgresBackend(Backend):
    """PostgreSQL + Redis: a database cloned from a migrated template per stage, a unique Redis queue name."""

    name = "postgres"
    label = "PostgreSQL + Redis"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.template: str | None = None

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)

    def _url(self, name: str) -> str:
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"

    def check(self) -> None:
        import psycopg
        import redis

        try:
            with self._admin():
                pass
        except psycopg.OperationalError as error:
            raise SystemExit(
                f"error: PostgreSQL at {PG_ADMIN_URL} is unreachable ({error}); use --backend sqlite"
            ) from None
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
        except redis.RedisError as error:
            raise SystemExit(f"error: Redis at {REDIS_URL} is unreachable ({error}); use --backend sqlite") from None
        self._make_template()

    def _make_template(self) -> None:
        from batchctl.db import Database
        from batchctl.schema import upgrade

        name = f"batchctl_bench_tmpl_{os.getpid()}"
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        self.template = name
        upgrade(Database(self._url(name)))  # what `batchctl db upgrade` runs

    @contextlib.contextmanager
    def stage(self) -> Iterator[Stage]:
        if self.template is None:
            self._make_template()
        tmp = Path(tempfile.mkdtemp(prefix="postgres-", dir=self.workdir))
        name = f"batchctl_bench_{uuid.uuid4().hex[:16]}"
        env = _base_env(tmp)
        env["BATCHCTL_DATABASE_URL"] = self._url(name)
        env["BATCHCTL_REDIS_URL"] = REDIS_URL
        raw = QueueSpec("redis", f"raw-bench-{uuid.uuid4().hex[:12]}", REDIS_URL)
        with self._admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            yield Stage(self.name, tmp, env, raw)
        finally:
            _forget_redis_queue(env["BATCHCTL_QUEUE_NAME"])
            _forget_redis_queue(raw.name)
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self) -> None:
        if self.template is not None:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            self.template = None


def _forget_redis_queue(queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{queue_name}*"))
    if keys:
        client.delete(*keys)


BACKENDS: dict[str, type[Backend]] = {"sqlite": SqliteBackend, "postgres": PostgresBackend}


# -- figures ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """``ratio >= threshold`` (a rate) or ``ratio <= threshold`` (a time)."""

    op: str
    threshold: float

    def met(self, ratio: float) -> bool:
        return ratio >= self.threshold if self.op == ">=" else ratio <= self.threshold

    def __str__(self) -> str:
        return f"{self.op} {self.threshold:.2f}"


@dataclass
class Figure:
    """One line of the table: batchctl's median, the baseline's median, the median of the paired ratios."""

    figure: str
    backend: str
    batchctl: float
    baseline: float
    ratio: float
    goal: Goal
    unit: str  # how batchctl and baseline are printed: "rate" (per second) or "seconds"
    batchctl_unit: str
    baseline_unit: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # printed under the table: where the time went

    @property
    def met(self) -> bool:
        return self.goal.met(self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "backend": self.backend,
            "batchctl": round(self.batchctl, 6),
            "baseline": round(self.baseline, 6),
            "batchctl_unit": self.batchctl_unit,
            "baseline_unit": self.baseline_unit,
            "ratio": round(self.ratio, 4),
            "goal": str(self.goal),
            "met": self.met,
            "samples": {key: [round(v, 6) for v in values] for key, values in self.samples.items()},
            "notes": self.notes,
        }


def interleaved(rounds: int, a: Callable[[], float], b: Callable[[], float]) -> tuple[list[float], list[float]]:
    """Run a and b ``rounds`` times each, A/B then B/A, so drift in the machine's load hits both alike."""
    first: list[float] = []
    second: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            first.append(a())
            second.append(b())
        else:
            second.append(b())
            first.append(a())
    return first, second


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """Median of per-round ratios: each pair ran back to back, so it shares the machine's load of the moment."""
    return statistics.median(x / y for x, y in zip(ours, theirs, strict=True))


# --- lifecycle throughput


def _batchctl_lifecycle(stage: Stage, jobs: int, details: dict[str, list[float]]) -> float:
    """Create ``jobs`` noop jobs in-process, then one `batchctl worker --burst` drains them: jobs per second."""
    from batchctl.db import Database
    from batchctl.service import Runtime, create_job

    runtime = Runtime(stage.settings())
    runtime.db  # noqa: B018  schema check and connection before the clock starts
    runtime.registry()
    started = time.perf_counter()
    for _ in range(jobs):
        create_job(runtime, "noop", {}, dry_run=False)
    created = time.perf_counter()
    runtime.db.close()
    run_process(
        [*batchctl_command(), "worker", "--burst"],
        env=stage.process_env(),
        cwd=stage.tmp,
        timeout=drain_timeout(jobs),
    )
    drained = time.perf_counter()
    # Outside the clock: every job must really have gone through the whole lifecycle.
    database = Database(runtime.settings.database_url)
    with database.transaction(write=False) as tx:
        done = tx.execute("SELECT COUNT(*) AS n FROM batch_job WHERE status = 'completed'").scalar()
    database.close()
    if done != jobs:
        raise RuntimeError(f"{stage.backend}: the burst worker completed {done} of {jobs} jobs")
    details["batchctl_create_s"].append(created - started)
    details["batchctl_drain_s"].append(drained - created)
    return jobs / (drained - started)


def _raw_lifecycle(stage: Stage, jobs: int, details: dict[str, list[float]]) -> float:
    """Enqueue ``jobs`` no-op Huey tasks, then one Huey consumer process drains them: tasks per second."""
    queue = RawQueue(stage.raw)
    queue.pending()  # storage opened (SQLite tables made) before the clock starts, as batchctl's schema is
    started = time.perf_counter()
    queue.enqueue(jobs)
    enqueued = time.perf_counter()
    queue.close()
    out = run_process(
        [sys.executable, str(BENCH / "raw_huey.py"), *stage.raw.args()],
        env=stage.process_env(),
        cwd=stage.tmp,
        timeout=drain_timeout(jobs),
    )
    drained = time.perf_counter()
    executed = int(out.strip() or 0)
    if executed != jobs:
        raise RuntimeError(f"{stage.backend}: the raw Huey consumer ran {executed} of {jobs} tasks")
    details["raw_enqueue_s"].append(enqueued - started)
    details["raw_drain_s"].append(drained - enqueued)
    return jobs / (drained - started)


def lifecycle_throughput(backend: Backend, options: Options) -> Figure:
    """No-op jobs through created → … → completed per second, one worker, against raw Huey tasks per second."""
    details: dict[str, list[float]] = {
        "batchctl_create_s": [],
        "batchctl_drain_s": [],
        "raw_enqueue_s": [],
        "raw_drain_s": [],
    }

    def ours() -> float:
        with backend.stage() as stage:
            rate = _batchctl_lifecycle(stage, options.jobs, details)
        progress(
            options,
            f"{backend.name} lifecycle: batchctl {rate:.1f} jobs/s "
            f"(create {details['batchctl_create_s'][-1]:.2f}s, drain {details['batchctl_drain_s'][-1]:.2f}s)",
        )
        return rate

    def theirs() -> float:
        with backend.stage() as stage:
            rate = _raw_lifecycle(stage, options.jobs, details)
        progress(
            options,
            f"{backend.name} lifecycle: raw huey {rate:.1f} tasks/s "
            f"(enqueue {details['raw_enqueue_s'][-1]:.2f}s, drain {details['raw_drain_s'][-1]:.2f}s)",
        )
        return rate

    batchctl_rates, raw_rates = interleaved(options.rounds, ours, theirs)
    return Figure(
        figure=f"lifecycle throughput (N={options.jobs})",
        backend=backend.name,
        batchctl=statistics.median(batchctl_rates),
        baseline=statistics.median(raw_rates),
        ratio=paired_ratio(batchctl_rates, raw_rates),
        goal=Goal(">=", 0.25),
        unit="rate",
        batchctl_unit="jobs/s",
        baseline_unit="tasks/s",
        samples={"batchctl": batchctl_rates, "baseline": raw_rates, **details},
        notes=[
            f"{backend.name} lifecycle, medians: batchctl create {_ms(details['batchctl_create_s'])} "
            f"+ worker {_ms(details['batchctl_drain_s'])}; raw enqueue {_ms(details['raw_enqueue_s'])} "
            f"+ consumer {_ms(details['raw_drain_s'])} (process start-up and exit included)"
        ],
    )


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


# --- cold show


def _timed(command: list[str], *, env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    run_process(command, env=env, cwd=cwd, timeout=60)
    return time.perf_counter() - started


def cold_show(backend: Backend, options: Options) -> Figure:
    """`batchctl show ID --json` as a new process against a process that only imports batchctl's dependencies."""
    from batchctl.service import Runtime, create_job

    with backend.stage() as stage:
        runtime = Runtime(stage.settings())
        job_id = create_job(runtime, "noop", {"count": 3}, dry_run=False)["id"]
        runtime.db.close()
        env = stage.process_env()
        # A finished job: show prints a full row (result, progress), as it would for a real one.
        run_process([*batchctl_command(), "worker", "--burst"], env=env, cwd=stage.tmp, timeout=drain_timeout(1))
        show = [*batchctl_command(), "show", job_id, "--json"]
        imports = [sys.executable, "-c", IMPORTS_BASELINE]
        # Untimed warm-up: "cold" means a new process each time, not a cold disk cache; and check the output.
        shown = json.loads(run_process(show, env=env, cwd=stage.tmp, timeout=60))
        if shown.get("id") != job_id or shown.get("status") != "completed":
            raise RuntimeError(f"{backend.name}: show printed {shown!r}")
        run_process(imports, env=env, cwd=stage.tmp, timeout=60)
        show_s, import_s = interleaved(
            options.show_runs,
            lambda: _timed(show, env=env, cwd=stage.tmp),
            lambda: _timed(imports, env=env, cwd=stage.tmp),
        )
    progress(
        options,
        f"{backend.name} cold show: {statistics.median(show_s) * 1000:.0f} ms, "
        f"imports {statistics.median(import_s) * 1000:.0f} ms",
    )
    return Figure(
        figure="cold `show ID --json`",
        backend=backend.name,
        batchctl=statistics.median(show_s),
        baseline=statistics.median(import_s),
        ratio=paired_ratio(show_s, import_s),
        goal=Goal("<=", 0.6),
        unit="seconds",
        batchctl_unit="s",
        baseline_unit="s (imports)",
        samples={"batchctl": show_s, "baseline": import_s},
    )


FigureFunction = Callable[[Backend, Options], Figure]

# Add a figure here: a function (backend, options) -> Figure that measures batchctl and its baseline interleaved.
FIGURES: dict[str, FigureFunction] = {
    "lifecycle": lifecycle_throughput,
    "show": cold_show,
}


# -- output ----------------------------------------------------------------------------------------------------


def _value(value: float, unit: str, label: str) -> str:
    if unit == "seconds":
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} {label}"


def format_table(figures: list[Figure]) -> str:
    """Plain text, aligned columns: figure, backend, batchctl, raw baseline, ratio, goal, met."""
    header = ["figure", "backend", "batchctl", "raw baseline", "ratio", "goal", "met"]
    rows = [
        [
            f.figure,
            f.backend,
            _value(f.batchctl, f.unit, f.batchctl_unit),
            _value(f.baseline, f.unit, f.baseline_unit),
            f"{f.ratio:.2f}",
            str(f.goal),
            "yes" if f.met else "NO",
        ]
        for f in figures
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = {2, 3, 4}  # right-aligned columns
    lines = []
    for row in [header, *rows]:
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe_run(options: Options) -> dict[str, Any]:
    return {
        "mode": "quick" if options.quick else "full",
        "jobs": options.jobs,
        "rounds": options.rounds,
        "show_runs": options.show_runs,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "batchctl_command": batchctl_command(),
    }


# -- main ------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="batchctl against raw baselines measured in the same run (ratios; see bench/README.md).",
    )
    parser.add_argument("--quick", action="store_true", help="a CI smoke run: fewer jobs, rounds and runs (<1 min)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all", help="default: all")
    parser.add_argument("--jobs", type=int, metavar="N", help="jobs per lifecycle round (default 500, --quick 200)")
    parser.add_argument("--rounds", type=int, metavar="R", help="lifecycle rounds per side (default 5, --quick 3)")
    parser.add_argument("--show-runs", type=int, metavar="K", help="cold-show runs per side (default 15, --quick 7)")
    parser.add_argument("--figure", action="append", choices=sorted(FIGURES), help="only this figure (repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON (with every sample) instead of the table")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    for name in ("jobs", "rounds", "show_runs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options.make(
        quick=args.quick, jobs=args.jobs, rounds=args.rounds, show_runs=args.show_runs, verbose=not args.quiet
    )
    names = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    chosen = {name: FIGURES[name] for name in (args.figure or FIGURES)}
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="batchctl-bench-") as workdir:
        for name in names:
            backend = BACKENDS[name](Path(workdir))
            try:
                backend.check()
                for figure in chosen.values():
                    figures.append(figure(backend, options))
            finally:
                backend.close()
    elapsed = time.perf_counter() - started
    run = {**describe_run(options), "seconds": round(elapsed, 1)}
    if args.json:
        print(json.dumps({"run": run, "figures": [f.as_json() for f in figures]}, indent=2))
    else:
        print(
            f"batchctl bench ({run['mode']}: N={options.jobs}, {options.rounds} rounds, {options.show_runs} show runs; "
            f"python {run['python']}, {run['cpus']} cpus, load {run['load_average'][0]}; {elapsed:.0f}s)"
        )
        print(format_table(figures))
        notes = [note for f in figures for note in f.notes]
        if notes:
            print()
            print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
