"""The ``batchctl`` command: wires the command modules together and turns errors into one line + exit code."""

from __future__ import annotations

import os
import sys
from functools import cache
from typing import TYPE_CHECKING

import typer

from batchctl.errors import BatchctlError

if TYPE_CHECKING:
    from batchctl.service import Runtime

app = typer.Typer(
    name="batchctl",
    help="Long, tracked, confirmable background jobs from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@cache
def runtime() -> Runtime:
    """The process's Runtime (settings read once from the environment)."""
    from batchctl.config import Settings
    from batchctl.service import Runtime

    return Runtime(Settings.from_env())


def _register() -> None:
    from batchctl.cli import admin, jobs

    jobs.register(app)
    admin.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; every error becomes ``error: …`` on stderr and a documented exit code."""
    debug = os.environ.get("BATCHCTL_DEBUG") == "1"
    try:
        code = app(args=argv, prog_name="batchctl", standalone_mode=False)
    except BatchctlError as error:
        if debug:
            raise
        _fail(str(error), error.exit_code)
    except typer.TyperException as error:  # usage errors: unknown option, bad value, missing argument
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        _fail(f"{message} (see `batchctl --help`)", getattr(error, "exit_code", 2))
    except typer.Abort:
        _fail("aborted", 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (`batchctl list | head`): not an error worth a message.
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:  # a bug: say so in one line, the traceback only with BATCHCTL_DEBUG=1
        if debug:
            raise
        _fail(f"unexpected {type(error).__name__}: {error} (set BATCHCTL_DEBUG=1 for the traceback)", 1)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    sys.stdout.flush()
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"error: {first_line}\n")
    sys.exit(code)
