"""The ``batchctl`` command: wires the command modules together and turns errors into one line + exit code."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import typer

from batchctl.cli import admin, jobs, products, schedule, serve, subscribers, users, webhooks
from batchctl.cli.runtime import close_client
from batchctl.errors import BatchctlError

app = typer.Typer(
    name="batchctl",
    help="Long, tracked, confirmable background jobs from the shell.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
jobs.register(app)
admin.register(app)
products.register(app)
schedule.register(app)
users.register(app)
serve.register(app)
webhooks.register(app)
subscribers.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; every error becomes ``error: …`` on stderr and a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("BATCHCTL_DEBUG") == "1"
    command = typer.main.get_command(app)
    code = 0
    try:
        # Invoked directly rather than through Typer's standalone main, which turns a closed pipe into exit 1.
        with command.make_context("batchctl", args) as ctx:
            command.invoke(ctx)
    except typer.Exit as done:  # --help, or a command that exits early on purpose
        code = done.exit_code
    except BatchctlError as error:
        if debug:
            raise
        _fail(str(error), error.exit_code)
    except typer.TyperException as error:  # usage errors: unknown option, bad value, missing argument
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # the help was shown, as for any command run without its arguments
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        context = getattr(error, "ctx", None)
        command_path = context.command_path if context is not None else "batchctl"
        _fail(f"{message} (see `{command_path} --help`)", getattr(error, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except BrokenPipeError:
        # The reader went away (`batchctl list | head`): not an error. Point stdout at /dev/null so the
        # interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except Exception as error:  # a bug: say so in one line, the traceback only with BATCHCTL_DEBUG=1
        if debug:
            raise
        _fail(f"unexpected {type(error).__name__}: {error} (set BATCHCTL_DEBUG=1 for the traceback)", 1)
    sys.exit(code)


def _fail(message: str, code: int) -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"error: {first_line}\n")
    sys.exit(code)


def run() -> NoReturn:
    """The console script: ``main()``, then leave without the interpreter's teardown.

    Tearing down the modules a command imported (psycopg alone brings ~190) takes about a fifth of a
    short command such as ``show``; nothing in it matters once the database connection is closed and
    logging and both streams are flushed, which this does first. (Tests call ``main()``.)
    """
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_.code, str):
            sys.stderr.write(f"{exit_.code}\n")
    close_client()
    logging.shutdown()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away after all: not an error (see main)
        pass
    sys.stderr.flush()
    os._exit(code)
