"""The CLI's entry point run in the test's own process, for tests that try hundreds of inputs.

``batchctl.cli.app.main`` is what the console script calls; running it here costs milliseconds instead of
a process start, so a hypothesis test can afford thousands of inputs. Settings are read once per process,
so each call starts from a fresh client and closes it after.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` for the block; exactly as it was afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_main(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run ``batchctl ARGS`` with ``env`` added to the environment: (exit code, stdout, stderr)."""
    from batchctl.cli.app import main
    from batchctl.cli.runtime import client, close_client

    out, err = io.StringIO(), io.StringIO()
    client.cache_clear()
    code = 0
    with environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            close_client()
            client.cache_clear()
    return code, out.getvalue(), err.getvalue()
