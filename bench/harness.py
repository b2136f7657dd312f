"""What every figure shares: the run's options, the Figure and its Goal, interleaved measuring, the table."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Each size: (full run, --quick, what it is). --quick keeps every figure, smaller, under a minute in all.
SIZES: dict[str, tuple[int, int, str]] = {
    "jobs": (500, 200, "no-op jobs per lifecycle round"),
    "rounds": (3, 1, "rounds per side of the lifecycle figures"),
    "scale_rounds": (1, 1, "rounds per side of the figures at scale (publish, export/import)"),
    "show_runs": (15, 2, "cold-show runs per side"),
    "latency_samples": (25, 5, "confirm → processing samples"),
    "products": (1_000_000, 20_000, "draft products to publish"),
    "variants": (100_000, 5_000, "variants to export and import"),
    "memory_variants": (1_000_000, 5_000, "variants for the peak-memory figure"),
    "peer_jobs": (1000, 40, "no-op jobs per round of the peers figure (a fifth of them with progress)"),
    "peer_rounds": (5, 1, "interleaved rounds of the peers figure"),
}


@dataclass(frozen=True)
class Options:
    """How much to measure (see SIZES)."""

    quick: bool
    verbose: bool
    jobs: int
    rounds: int
    scale_rounds: int
    show_runs: int
    latency_samples: int
    products: int
    variants: int
    memory_variants: int
    peer_jobs: int
    peer_rounds: int

    @classmethod
    def make(cls, *, quick: bool, verbose: bool, **overrides: int | None) -> Options:
        chosen: dict[str, int] = {
            name: overrides.get(name) or (quick_size if quick else full)
            for name, (full, quick_size, _) in SIZES.items()
        }
        return cls(quick=quick, verbose=verbose, **chosen)


def progress(options: Options, message: str) -> None:
    """A line on stderr while measuring (the table goes to stdout)."""
    if options.verbose:
        print(f"  {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Goal:
    """``value >= threshold`` or ``value <= threshold``; the value is the ratio, or batchctl's own figure
    when ``unit`` is set (a latency in s, a memory in MB: figures with no baseline)."""

    op: str
    threshold: float
    unit: str = ""

    def met(self, value: float) -> bool:
        return value >= self.threshold if self.op == ">=" else value <= self.threshold

    def __str__(self) -> str:
        return f"{self.op} {self.threshold:g} {self.unit}".rstrip()


@dataclass
class Figure:
    """One line of the table: batchctl's median, the baseline's (if any), the median of the paired ratios."""

    figure: str
    backend: str
    batchctl: float
    batchctl_text: str
    goal: Goal
    baseline: float | None = None
    baseline_text: str = "-"
    ratio: float | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # printed under the table: where the time went

    @property
    def judged(self) -> float:
        """What the goal is about: the ratio, or batchctl's own figure for a goal with a unit."""
        if self.goal.unit or self.ratio is None:
            return self.batchctl
        return self.ratio

    @property
    def met(self) -> bool:
        return self.goal.met(self.judged)

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "backend": self.backend,
            "batchctl": round(self.batchctl, 6),
            "batchctl_text": self.batchctl_text,
            "baseline": None if self.baseline is None else round(self.baseline, 6),
            "baseline_text": self.baseline_text,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "goal": str(self.goal),
            "met": self.met,
            "samples": {key: [round(v, 6) for v in values] for key, values in self.samples.items()},
            "notes": self.notes,
        }


def seconds_figure(
    figure: str, backend: str, ours: list[float], theirs: list[float], goal: Goal, notes: list[str]
) -> Figure:
    """batchctl's seconds against the raw baseline's; ratio = raw s / batchctl s, the share of raw speed reached."""
    batchctl, baseline = statistics.median(ours), statistics.median(theirs)
    return Figure(
        figure=figure,
        backend=backend,
        batchctl=batchctl,
        batchctl_text=seconds_text(batchctl),
        baseline=baseline,
        baseline_text=seconds_text(baseline),
        ratio=paired_ratio(theirs, ours),
        goal=goal,
        samples={"batchctl": ours, "baseline": theirs},
        notes=notes,
    )


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


def milliseconds(values: list[float]) -> str:
    """The median of ``values`` (seconds) in ms, for notes."""
    return f"{statistics.median(values) * 1000:.0f} ms"


def seconds_text(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def format_table(figures: list[Figure]) -> str:
    """Plain text, aligned columns: figure, backend, batchctl, raw baseline, ratio, goal, met."""
    header = ["figure", "backend", "batchctl", "raw baseline", "ratio", "goal", "met"]
    rows = [
        [
            f.figure,
            f.backend,
            f.batchctl_text,
            f.baseline_text,
            "-" if f.ratio is None else f"{f.ratio:.2f}",
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
