"""The HTTP figure's baseline: a minimal ASGI app that answers every GET with one job's JSON from memory,
served by uvicorn exactly as ``batchctl serve`` is (same options). Usage: http_baseline.py PORT JSON_FILE"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn


def make_app(body: bytes) -> Any:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


if __name__ == "__main__":
    port, body = int(sys.argv[1]), Path(sys.argv[2]).read_bytes()
    uvicorn.run(
        make_app(body),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=5,
        limit_concurrency=1000,
    )
