"""Webhooks: the signed POST of one event and its job, to the URL the user configured, and nowhere else.

The signature is Stripe's scheme: ``Batchctl-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
with the webhook's secret, so a receiver can check the body came from batchctl and is fresh (``verify``).
``Batchctl-Delivery`` is the same on every retry of one delivery: a receiver deduplicates on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from batchctl import __version__
from batchctl.errors import BadInput

SIGNATURE_HEADER = "Batchctl-Signature"
DELIVERY_HEADER = "Batchctl-Delivery"
EVENT_HEADER = "Batchctl-Event"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 8
# A receiver's answer is kept in the log up to this many characters.
ERROR_EXCERPT = 200


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` and 32 random bytes, URL-safe)."""
    return "whsec_" + secrets.token_urlsafe(32)


def check_url(url: str) -> str:
    """An http(s) URL with a host, or BadInput saying what a webhook URL must look like."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput(f"webhook URL {url!r} is not valid; expected http://HOST/PATH or https://HOST/PATH")
    return url


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Batchctl-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300.0, now: float | None = None) -> bool:
    """What a receiver does: whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).partition("v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def payload(delivery_id: str, event: Mapping[str, Any], job: Mapping[str, Any] | None) -> bytes:
    """The body of one delivery: its id, the event, and the job's JSON."""
    return json.dumps({"id": delivery_id, "event": event, "job": job}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Answer:
    """What one POST came back with: the status code (None when there was none), latency, and any error."""

    status_code: int | None
    latency_ms: float
    error: str | None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction: batchctl POSTs only to the configured URL."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxies from the environment either: the request goes to the URL's host itself.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def post(url: str, body: bytes, *, secret: str, delivery_id: str, event_name: str, timeout: float) -> Answer:
    """POST ``body`` signed with ``secret``; never raises for what the receiver or the network does."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"batchctl/{__version__}",
        SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event_name,
    }
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.perf_counter()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            code, error = int(response.status), None
    except urllib.error.HTTPError as answer:  # a non-2xx answer (redirects included: they are not followed)
        code = int(answer.code)
        error = f"HTTP {answer.code}: {_excerpt(answer)}"
    except (TimeoutError, OSError, ValueError, urllib.error.URLError) as failure:
        reason = getattr(failure, "reason", failure)
        code, error = None, f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
    return Answer(code, round((time.perf_counter() - started) * 1000, 3), error)


def _excerpt(answer: urllib.error.HTTPError) -> str:
    try:
        text = answer.read(ERROR_EXCERPT).decode("utf-8", "replace").strip()
    except Exception:  # the body could not be read; the status code says enough
        text = ""
    return text.splitlines()[0] if text else answer.reason or ""
