"""What a public server needs around every request: a body size cap and a timeout (pure ASGI middleware)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Any


def _json_error(status: int, kind: str, message: str) -> tuple[Message, Message]:
    body = json.dumps({"type": kind, "message": message}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class Limits:
    """Refuse bodies over the cap (413) and answer 503 when a request takes longer than ``timeout`` seconds.

    Streams (``/events``) and file transfers are exempt from the timeout: they last as long as they need.
    """

    def __init__(
        self, app: ASGIApp, *, max_body: int, max_upload: int, timeout: float, upload_paths: tuple[str, ...]
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.timeout = timeout
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        cap = self.max_upload if path in self.upload_paths else self.max_body
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            await self._refuse(send, cap)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    from batchctl.http.errors import BodyTooLarge

                    raise BodyTooLarge(f"The request body is larger than {cap} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        if path.endswith("/events") or path.startswith("/admin/uploads/") or path in self.upload_paths:
            await self.app(scope, limited_receive, tracking_send)
            return
        try:
            await asyncio.wait_for(self.app(scope, limited_receive, tracking_send), self.timeout)
        except TimeoutError:
            if not started:
                start, body = _json_error(503, "unknown_error", f"The request took longer than {self.timeout:g} s")
                await send(start)
                await send(body)

    async def _refuse(self, send: Any, cap: int) -> None:
        start, body = _json_error(413, "invalid_data", f"The request body is larger than {cap} bytes")
        await send(start)
        await send(body)
