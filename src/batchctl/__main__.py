"""``python -m batchctl``: the same as the ``batchctl`` command."""

from batchctl.cli.app import run

run()
