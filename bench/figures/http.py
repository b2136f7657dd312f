"""``GET /admin/batch-jobs/:id`` over HTTP: requests per second with 32 concurrent keep-alive clients while
4 jobs process, against a minimal ASGI app (bench/http_baseline.py) that returns the same job's JSON from
memory, served by uvicorn the same way; plus batchctl's p50 and p99 latencies.

The load comes from one asyncio client process (httpx, 32 connections, each request awaited before the
next on its connection), the same for both sides, so its own cost cancels out of the ratio.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from harness import Figure, Goal, Options, interleaved, progress
from stages import Backend, Stage, batchctl_command

CLIENTS = 32
BUSY_JOBS = 4
P99_GOAL = {"sqlite": 0.05}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serving(command: list[str], stage: Stage, url: str) -> Iterator[None]:
    import httpx

    log = (stage.tmp / "serve.log").open("a")
    process = subprocess.Popen(command, env=stage.process_env(), cwd=stage.tmp, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code < 500:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start: {(stage.tmp / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _load(url: str, headers: dict[str, str], seconds: float, latencies: list[float]) -> float:
    """Requests per second from CLIENTS concurrent keep-alive connections for ``seconds``."""
    import httpx

    async def run() -> int:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
            stop = time.perf_counter() + seconds

            async def one_client() -> int:
                done = 0
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    response = await client.get(url)
                    latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")
                    done += 1
                return done

            return sum(await asyncio.gather(*(one_client() for _ in range(CLIENTS))))

    started = time.perf_counter()
    requests = asyncio.run(run())
    return requests / (time.perf_counter() - started)


def get_job_rps(backend: Backend, options: Options) -> list[Figure]:
    from batchctl.service import create_job, get_job
    from batchctl.users import Users

    seconds = 3.0 if options.quick else 15.0
    with backend.stage() as stage, stage.worker("--concurrency", str(BUSY_JOBS)):
        runtime = stage.runtime()
        _, token = Users(runtime).add("bench")
        job_id = create_job(runtime, "noop", {"count": 3}, dry_run=True, user="bench")["id"]
        busy = [
            create_job(runtime, "noop", {"count": 10**7, "sleep": 0.001, "chunk_size": 20}, dry_run=False)["id"]
            for _ in range(BUSY_JOBS)
        ]
        ours_port, base_port = _free_port(), _free_port()
        ours_url = f"http://127.0.0.1:{ours_port}/admin/batch-jobs/{job_id}"
        base_url = f"http://127.0.0.1:{base_port}/admin/batch-jobs/{job_id}"
        headers = {"x-medusa-access-token": token}
        import httpx

        serve = [*batchctl_command(), "serve", "--port", str(ours_port), "--log-level", "warning"]
        with _serving(serve, stage, ours_url):
            body = httpx.get(ours_url, headers=headers).content
            (stage.tmp / "job.json").write_bytes(body)
            baseline = [sys.executable, str(Path(__file__).resolve().parent.parent / "http_baseline.py")]
            with _serving([*baseline, str(base_port), str(stage.tmp / "job.json")], stage, base_url):
                processing = [get_job(runtime, j)["status"] for j in busy]
                ours_latencies: list[float] = []
                ours, theirs = interleaved(
                    1 if options.quick else 3,
                    lambda: _load(ours_url, headers, seconds, ours_latencies),
                    lambda: _load(base_url, headers, seconds, []),
                )
        runtime.db.discard_connection()
    if json.loads(body)["batch_job"]["id"] != job_id:
        raise RuntimeError(f"{backend.name}: the server answered {body[:200]!r}")
    ours_latencies.sort()
    p50 = statistics.median(ours_latencies)
    p99 = ours_latencies[int(len(ours_latencies) * 0.99) - 1]
    rps, base_rps = statistics.median(ours), statistics.median(theirs)
    progress(
        options,
        f"{backend.name} GET job: {rps:.0f}/s vs {base_rps:.0f}/s, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms",
    )
    ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))  # paired rates, per round
    return [
        Figure(
            figure=f"GET job over HTTP ({CLIENTS} clients, {BUSY_JOBS} jobs processing)",
            backend=backend.name,
            batchctl=rps,
            batchctl_text=f"{rps:.0f} req/s",
            baseline=base_rps,
            baseline_text=f"{base_rps:.0f} req/s (in-memory ASGI)",
            ratio=ratio,
            goal=Goal(">=", 0.5),
            samples={"batchctl": ours, "baseline": theirs},
            notes=[f"{backend.name}: busy jobs were {', '.join(sorted(set(processing)))} during the load"],
        ),
        Figure(
            figure="GET job over HTTP: p50 / p99 latency",
            backend=backend.name,
            batchctl=p99,
            batchctl_text=f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms",
            goal=Goal("<=", P99_GOAL.get(backend.name, 0.1), unit="s"),
            samples={"latency": ours_latencies[:: max(1, len(ours_latencies) // 1000)]},
        ),
    ]
