"""The README's "Reacting to events" blocks run as written: a subscriber file, a receiver, the shell steps."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import Backend, wait_until

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Reacting to events", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_subscriber_and_webhook_examples_run_as_written(backend: Backend) -> None:
    subscriber_code, receiver_code = blocks("python")
    [shell] = blocks("sh")
    (backend.tmp / "subscribers").mkdir()
    (backend.tmp / "subscribers" / "notify.py").write_text(subscriber_code)
    (backend.tmp / "receiver.py").write_text(receiver_code)
    port = str(free_port())
    env = {**os.environ, **backend.env, "WEBHOOK_SECRET": "whsec_readme", "PORT": port}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    out = (backend.tmp / "receiver.out").open("w")
    server = subprocess.Popen([sys.executable, "receiver.py"], cwd=backend.tmp, env=env, stdout=out, stderr=out)
    try:
        wait_until(lambda: socket.socket().connect_ex(("127.0.0.1", int(port))) == 0, timeout=30)
        # The subscriber counts from its first sighting: let `subscribers` see it before the job exists.
        assert subprocess.run(["batchctl", "subscribers"], cwd=backend.tmp, env=env, timeout=60).returncode == 0
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", shell],
            cwd=backend.tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert ran.returncode == 0, ran.stderr
        assert re.search(r"^batch\.completed batch_\w+ completed$", ran.stdout, re.M), ran.stdout
        assert "notify.tell_the_team" in ran.stdout and "succeed" in ran.stdout
        wait_until(lambda: "verified batch.completed" in (backend.tmp / "receiver.out").read_text(), timeout=30)
        assert "REFUSED" not in (backend.tmp / "receiver.out").read_text()
    finally:
        server.terminate()
        server.wait(timeout=10)
        out.close()
