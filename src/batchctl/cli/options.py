"""Options more than one command takes, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from batchctl.bounds import Bound

JobType = Annotated[str, typer.Option("--type", "-t", help="The job type (see `batchctl strategies`).")]
ContextOption = Annotated[str | None, typer.Option("--context", help="The context as a JSON object.")]
ContextFileOption = Annotated[Path | None, typer.Option("--context-file", help="Read the context JSON from a file.")]
PairsOption = Annotated[list[str] | None, typer.Option("--set", "-c", help="A context entry key=value (repeatable).")]


def bounded(bound: Bound, help: str, *names: str, **extra: Any) -> Any:
    """An option for a whole number in ``bound``: Click refuses any other with one line (exit 2), --help shows it."""
    return typer.Option(*names, help=help, min=bound.low, max=bound.high, **extra)
