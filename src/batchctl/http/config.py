"""The server's own settings, read once from ``BATCHCTL_*`` (the rest comes from the client's Settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from batchctl.config import float_env
from batchctl.errors import BadInput


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise BadInput(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class ServerConfig:
    """Limits and policies of ``batchctl serve``."""

    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 100 << 20
    max_page_size: int = 1000
    request_timeout: float = 30.0
    session_seconds: int = 24 * 3600
    download_url_seconds: int = 600
    # Failed sign-ins allowed per window, per account and per client address; failed tokens per address.
    login_failures_per_account: int = 10
    login_failures_per_address: int = 50
    token_failures_per_address: int = 300
    throttle_window: float = 300.0

    @classmethod
    def from_env(cls) -> ServerConfig:
        """The config from ``BATCHCTL_ADMIN_CORS``, ``BATCHCTL_HTTP_*`` and their defaults."""
        origins = tuple(
            o.strip().rstrip("/") for o in os.environ.get("BATCHCTL_ADMIN_CORS", "").split(",") if o.strip()
        )
        return cls(
            cors_origins=origins,
            max_body_bytes=_int_env("BATCHCTL_HTTP_MAX_BODY", cls.max_body_bytes),
            max_upload_bytes=_int_env("BATCHCTL_HTTP_MAX_UPLOAD", cls.max_upload_bytes),
            max_page_size=_int_env("BATCHCTL_HTTP_MAX_PAGE", cls.max_page_size),
            request_timeout=float_env("BATCHCTL_HTTP_TIMEOUT", cls.request_timeout),
            session_seconds=_int_env("BATCHCTL_HTTP_SESSION_SECONDS", cls.session_seconds),
            download_url_seconds=_int_env("BATCHCTL_HTTP_DOWNLOAD_SECONDS", cls.download_url_seconds),
            login_failures_per_account=_int_env("BATCHCTL_HTTP_LOGIN_FAILURES", cls.login_failures_per_account),
            login_failures_per_address=_int_env(
                "BATCHCTL_HTTP_LOGIN_FAILURES_PER_ADDRESS", cls.login_failures_per_address
            ),
            token_failures_per_address=_int_env("BATCHCTL_HTTP_TOKEN_FAILURES", cls.token_failures_per_address),
            throttle_window=float_env("BATCHCTL_HTTP_THROTTLE_WINDOW", cls.throttle_window),
        )
