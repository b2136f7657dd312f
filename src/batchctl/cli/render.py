"""Output: JSON for machines, Rich on a terminal, plain text otherwise (NO_COLOR respected by Rich).

Human output, on a terminal or a pipe, goes through ``human``: known secrets masked, then every control
character made visible (markup.terminal_safe). JSON is printed exact.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from batchctl.cli.markup import esc, strip_markup, terminal_safe
from batchctl.masking import mask_text

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


def human(text: object) -> str:
    """One value or line as a person may see it: secrets masked, control characters shown as escapes."""
    return terminal_safe(mask_text(str(text)))


def _console() -> Any:
    from rich.console import Console

    # No highlighting and no :emoji: codes: user text is shown as it is, never reinterpreted.
    return Console(highlight=False, emoji=False)


def emit_line(line: object) -> None:
    """Print one plain line of human output (made safe by ``human``)."""
    sys.stdout.write(human(line) + "\n")
    sys.stdout.flush()


def emit_lines(lines: Iterable[str]) -> None:
    """Print markup lines (user values in them escaped with ``esc``): rendered on a terminal, stripped otherwise."""
    # Secrets are masked line by line; the values in the lines were made visible by esc() already.
    text = "\n".join(mask_text(line) for line in lines)
    if on_terminal():
        _console().print(text)
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


def _value(value: object) -> str:
    """A user value for markup: secrets masked first (escaping could split one), then escaped."""
    return esc(mask_text(str(value)))


def job_lines(job: Mapping[str, Any]) -> list[str]:
    """A job for people: the headline, then details."""
    lines = [f"[bold]{_value(job['id'])}[/]  {_value(job['type'])}  {status_markup(_value(job['status']))}"]
    dry = "  (dry run)" if job["dry_run"] else ""
    lines.append(f"  created by {_value(job['created_by'])} at {_value(job['created_at'])}{dry}")
    for column in ("pre_processed_at", "confirmed_at", "processing_at", "completed_at", "failed_at", "canceled_at"):
        if job.get(column):
            lines.append(f"  {column.removesuffix('_at').replace('_', ' ')} at {_value(job[column])}")
    lines.append(f"  context: {_value(json.dumps(job['context'], sort_keys=True))}")
    result = job.get("result")
    if result:
        lines.append(f"  progress: {_value(progress_text(result))}")
        for stat in result.get("stat_descriptors", []):
            lines.append(f"  {_value(stat['name'])}: {_value(stat['message'])}")
        if result.get("file_key"):
            lines.append(f"  file: {_value(result['file_key'])} ({_value(result.get('file_size', '?'))} bytes)")
        for error in result.get("errors", []):
            where = f" (row {_value(error['row'])})" if error.get("row") is not None else ""
            lines.append(f"  [red]error[/]{where}: {_value(error['message'])}")
    if job.get("attempts", 0) > 1:
        lines.append(f"  attempts: {_value(job['attempts'])}")
    if job["status"] == "pre_processed" and job["dry_run"]:
        lines.append(f"  waiting for: batchctl confirm {_value(job['id'])}")
    return lines


def job_row(job: Mapping[str, Any]) -> list[str]:
    """A job as one row of ``list``."""
    return [job["id"], job["type"], job["status"], progress_text(job.get("result")), job["created_at"] or ""]


def emit_table(headers: list[str], rows: list[list[str]]) -> None:
    """A table of user values (never markup): Rich on a terminal, aligned plain columns otherwise."""
    rows = [[human(cell) for cell in row] for row in rows]
    if on_terminal():
        from rich.table import Table
        from rich.text import Text

        table = Table(*headers, box=None, header_style="bold")
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # Text: a cell's "[red]" is shown, not parsed
        _console().print(table)
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        sys.stdout.write(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )


def stderr_line(prefix: str, message: object) -> None:
    """``prefix: message`` as one line on stderr: secrets masked, control characters (newlines too) shown."""
    try:
        sys.stderr.write(f"{prefix}: {human(str(message).strip()) or '(no message)'}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr is a pipe nobody reads any more: no one is left to tell
        pass


def warn(message: str) -> None:
    """One warning line on stderr."""
    stderr_line("warning", message)
