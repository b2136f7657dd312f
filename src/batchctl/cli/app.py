"""The ``batchctl`` command: wires the command modules together and turns errors into one line + exit code."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated, NoReturn

import typer

from batchctl.cli import admin, jobs, products, schedule, serve, subscribers, users, webhooks
from batchctl.cli.runtime import close_client
from batchctl.errors import BatchctlError

app = typer.Typer(
    name="batchctl",
    help="Long, tracked, confirmable background jobs from the shell.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion, and _BATCHCTL_COMPLETE (see main)
    pretty_exceptions_enable=False,
)


def _print_version(wanted: bool) -> None:
    """``--version``: ``batchctl X.Y.Z`` from the installed package's metadata, then exit 0."""
    if not wanted:
        return
    # Imported only here: importlib.metadata brings email, zipfile and csv, which no other command needs.
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("batchctl")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "unknown (not installed)"
    print(f"batchctl {number}")
    raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print batchctl's version and exit."),
    ] = False,
) -> None:
    """Long, tracked, confirmable background jobs from the shell."""


jobs.register(app)
admin.register(app)
products.register(app)
schedule.register(app)
users.register(app)
serve.register(app)
webhooks.register(app)
subscribers.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; every error becomes ``error: …`` on stderr and a documented exit code.

    Closed streams: a stdout or stderr closed by the caller (``>&-``, ``2>&-``) is treated as /dev/null,
    so the command still does its work and exits with its own code. A reader that goes away
    (``| head -1``, EPIPE) is not an error either: batchctl stops writing and exits 0, as ``cat`` does
    after SIGPIPE, without a traceback.
    """
    _open_closed_streams()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("BATCHCTL_DEBUG") == "1"
    command = typer.main.get_command(app)
    code = 0
    try:
        # The shell's completion requests (_BATCHCTL_COMPLETE=complete_bash …, set by the script that
        # --install-completion installs): answered and exited here, as Typer's standalone main would.
        command._main_shell_completion({}, "batchctl", None)
        # Invoked directly rather than through Typer's standalone main, which turns a closed pipe into exit 1.
        with command.make_context("batchctl", args) as ctx:
            command.invoke(ctx)
    except typer.Exit as done:  # --help, or a command that exits early on purpose
        code = done.exit_code
    except BatchctlError as error:
        if debug:
            _traceback(error, error.exit_code)
        _fail(str(error), error.exit_code)
    except typer.TyperException as error:  # usage errors: unknown option, bad value, missing argument
        if type(error).__name__ == "NoArgsIsHelpError":
            sys.exit(2)  # the help was shown, as for any command run without its arguments
        message = _plain_kinds(error.format_message() if hasattr(error, "format_message") else str(error))
        context = getattr(error, "ctx", None)
        command_path = context.command_path if context is not None else "batchctl"
        _fail(f"{message} (see `{command_path} --help`)", getattr(error, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except BrokenPipeError:
        _reader_gone()
    except Exception as error:  # a bug: say so in one line, the traceback only with BATCHCTL_DEBUG=1
        if debug:
            _traceback(error, 1)
        _fail(f"unexpected {type(error).__name__}: {error} (set BATCHCTL_DEBUG=1 for the traceback)", 1)
    sys.exit(code)


# Typer names its number types as Python does ("'x' is not a valid int range."); a person types numbers.
_KIND_WORDS = (
    ("is not a valid int range.", "is not a whole number."),
    ("is not a valid int.", "is not a whole number."),
    ("is not a valid float range.", "is not a number."),
    ("is not a valid float.", "is not a number."),
)


def _plain_kinds(message: str) -> str:
    """A usage error's message with the number kinds in plain words: "'x' is not a whole number."."""
    for typer_words, plain in _KIND_WORDS:
        message = message.replace(typer_words, plain)
    return message


def _open_closed_streams() -> None:
    """Point a closed stdout or stderr at /dev/null, before anything opens a file that would take its fd.

    Python leaves ``sys.stdout`` None when fd 1 was closed at start; the first file opened later (the
    database!) would then get fd 1, and what is printed would land in it.
    """
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        null = os.open(os.devnull, os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        setattr(sys, name, open(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=False))


def _reader_gone() -> NoReturn:
    """The reader of stdout went away: not an error, exit 0 (stdout now /dev/null for the final flushes)."""
    _discard_stdout()
    sys.exit(0)


def _discard_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (a test's StringIO): nothing will flush into a pipe
        pass


def _traceback(error: BaseException, code: int) -> NoReturn:
    """BATCHCTL_DEBUG=1: the traceback on stderr, secrets masked and control characters shown, and ``code``."""
    import traceback

    from batchctl.cli.markup import terminal_safe
    from batchctl.masking import mask_text

    text = mask_text("".join(traceback.format_exception(error)))
    _write_stderr("".join(terminal_safe(line) + "\n" for line in text.splitlines()))
    sys.exit(code)


def _fail(message: str, code: int) -> NoReturn:
    """The one error line: ``error: …`` on stderr (secrets masked, control characters shown), exit ``code``."""
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _discard_stdout()
    from batchctl.cli.render import stderr_line

    stderr_line("error", message)
    sys.exit(code)


def _write_stderr(text: str) -> None:
    # stderr itself may be a pipe nobody reads any more: then there is no one left to tell.
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


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
            _write_stderr(f"{exit_.code}\n")
    close_client()
    logging.shutdown()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # the reader went away after all: not an error (see main)
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)
