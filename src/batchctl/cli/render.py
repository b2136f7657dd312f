"""Output: JSON for machines, Rich on a terminal, plain text otherwise (NO_COLOR respected by Rich)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from batchctl.cli.markup import esc, strip_markup

STATUS_STYLE = {
    "created": "white",
    "pre_processed": "cyan",
    "confirmed": "blue",
    "processing": "yellow",
    "completed": "green",
    "failed": "red",
    "canceled": "magenta",
}


def on_terminal() -> bool:
    """Whether stdout is a terminal a person is looking at."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def emit_json(value: Any) -> None:
    """Print one JSON document."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


def emit_json_line(value: Any) -> None:
    """Print one compact JSON document on its own line (for streams)."""
    sys.stdout.write(json.dumps(value, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def emit_lines(lines: Iterable[str]) -> None:
    """Print lines, with Rich markup rendered on a terminal and stripped otherwise."""
    text = "\n".join(lines)
    if on_terminal():
        from rich.console import Console

        Console(highlight=False).print(text)
    else:
        sys.stdout.write(strip_markup(text) + "\n")


def status_markup(status: str) -> str:
    """A status word, coloured on a terminal."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def progress_text(result: Mapping[str, Any] | None) -> str:
    """``advanced/count (pct%)`` for a job's result."""
    if not result:
        return "-"
    count = result.get("count")
    advanced = result.get("advancement_count", 0)
    percent = f"{100 * float(result.get('progress') or 0):.0f}%"
    return f"{advanced}/{count if count is not None else '?'} ({percent})"


def job_lines(job: Mapping[str, Any]) -> list[str]:
    """A job for people: the headline, then details."""
    lines = [f"[bold]{job['id']}[/]  {esc(job['type'])}  {status_markup(job['status'])}"]
    dry = "  (dry run)" if job["dry_run"] else ""
    lines.append(f"  created by {esc(job['created_by'])} at {job['created_at']}{dry}")
    for column in ("pre_processed_at", "confirmed_at", "processing_at", "completed_at", "failed_at", "canceled_at"):
        if job.get(column):
            lines.append(f"  {column.removesuffix('_at').replace('_', ' ')} at {job[column]}")
    lines.append(f"  context: {esc(json.dumps(job['context'], sort_keys=True))}")
    result = job.get("result")
    if result:
        lines.append(f"  progress: {progress_text(result)}")
        for stat in result.get("stat_descriptors", []):
            lines.append(f"  {esc(stat['name'])}: {esc(stat['message'])}")
        if result.get("file_key"):
            lines.append(f"  file: {esc(result['file_key'])} ({result.get('file_size', '?')} bytes)")
        for error in result.get("errors", []):
            where = f" (row {error['row']})" if error.get("row") is not None else ""
            lines.append(f"  [red]error[/]{where}: {esc(error['message'])}")
    if job.get("attempts", 0) > 1:
        lines.append(f"  attempts: {job['attempts']}")
    if job["status"] == "pre_processed" and job["dry_run"]:
        lines.append(f"  waiting for: batchctl confirm {job['id']}")
    return lines


def job_row(job: Mapping[str, Any]) -> list[str]:
    """A job as one row of ``list``."""
    return [job["id"], job["type"], job["status"], progress_text(job.get("result")), job["created_at"] or ""]


def emit_table(headers: list[str], rows: list[list[str]]) -> None:
    """A table: Rich on a terminal, aligned plain columns otherwise."""
    if on_terminal():
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers, box=None, header_style="bold")
        for row in rows:
            table.add_row(*row)
        Console(highlight=False).print(table)
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        sys.stdout.write(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def warn(message: str) -> None:
    """One warning line on stderr."""
    sys.stderr.write(f"warning: {message}\n")
