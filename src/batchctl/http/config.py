"""The server's own settings, read once from ``BATCHCTL_*`` (the rest comes from the client's Settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from batchctl import bounds
from batchctl.config import float_env, int_env

# Sizes in bytes up to a TiB; counts and seconds up to a million and a year.
_BYTES = bounds.Bound(1, 1 << 40)
_COUNT = bounds.Bound(1, 1_000_000)
_SECONDS = bounds.Bound(1, int(bounds.MAX_SECONDS))


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
            max_body_bytes=int_env("BATCHCTL_HTTP_MAX_BODY", cls.max_body_bytes, _BYTES),
            max_upload_bytes=int_env("BATCHCTL_HTTP_MAX_UPLOAD", cls.max_upload_bytes, _BYTES),
            max_page_size=int_env("BATCHCTL_HTTP_MAX_PAGE", cls.max_page_size, _COUNT),
            request_timeout=float_env("BATCHCTL_HTTP_TIMEOUT", cls.request_timeout),
            session_seconds=int_env("BATCHCTL_HTTP_SESSION_SECONDS", cls.session_seconds, _SECONDS),
            download_url_seconds=int_env("BATCHCTL_HTTP_DOWNLOAD_SECONDS", cls.download_url_seconds, _SECONDS),
            login_failures_per_account=int_env("BATCHCTL_HTTP_LOGIN_FAILURES", cls.login_failures_per_account, _COUNT),
            login_failures_per_address=int_env(
                "BATCHCTL_HTTP_LOGIN_FAILURES_PER_ADDRESS", cls.login_failures_per_address, _COUNT
            ),
            token_failures_per_address=int_env("BATCHCTL_HTTP_TOKEN_FAILURES", cls.token_failures_per_address, _COUNT),
            throttle_window=float_env("BATCHCTL_HTTP_THROTTLE_WINDOW", cls.throttle_window),
        )
