"""`batchctl show ID --json` as a new process, against one that only imports batchctl's dependencies.

"Cold" means a new process each time, not a cold disk cache: one untimed run of each side warms it first.
"""

from __future__ import annotations

import json
import statistics
import sys

from harness import Figure, Goal, Options, interleaved, paired_ratio, progress, seconds_text
from stages import Backend, batchctl_command, timed_process

IMPORTS_BASELINE = "import typer, rich, sqlmodel, huey, redis"


def cold_show(backend: Backend, options: Options) -> list[Figure]:
    from batchctl.service import create_job

    with backend.stage() as stage:
        runtime = stage.runtime()
        job_id = create_job(runtime, "noop", {"count": 3}, dry_run=False)["id"]
        runtime.db.discard_connection()
        # A finished job, so show prints a full row (result, progress), as it would for a real one.
        stage.batchctl("worker", "--burst")
        shown = json.loads(stage.batchctl("show", job_id, "--json"))
        if shown.get("id") != job_id or shown.get("status") != "completed":
            raise RuntimeError(f"{backend.name}: show printed {shown!r}")
        show = [*batchctl_command(), "show", job_id, "--json"]
        imports = [sys.executable, "-c", IMPORTS_BASELINE]
        env = stage.process_env()
        timed_process(imports, env=env, cwd=stage.tmp)
        show_s, import_s = interleaved(
            options.show_runs,
            lambda: timed_process(show, env=env, cwd=stage.tmp),
            lambda: timed_process(imports, env=env, cwd=stage.tmp),
        )
    batchctl, baseline = statistics.median(show_s), statistics.median(import_s)
    progress(options, f"{backend.name} cold show: {batchctl * 1000:.0f} ms, imports {baseline * 1000:.0f} ms")
    return [
        Figure(
            figure="cold `show ID --json`",
            backend=backend.name,
            batchctl=batchctl,
            batchctl_text=seconds_text(batchctl),
            baseline=baseline,
            baseline_text=f"{seconds_text(baseline)} (imports)",
            ratio=paired_ratio(show_s, import_s),
            goal=Goal("<=", 0.4),
            samples={"batchctl": show_s, "baseline": import_s},
        )
    ]
