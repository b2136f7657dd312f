"""``create_app(jobs)``: the FastAPI application of ``batchctl serve``."""

from __future__ import annotations

import os
import threading
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import batchctl
from batchctl.client import Jobs
from batchctl.http import auth, errors, jobs, schemas
from batchctl.http.config import ServerConfig
from batchctl.users import Users

UPLOAD_PATHS = ("/admin/uploads",)


def create_app(client: Jobs, *, config: ServerConfig | None = None) -> FastAPI:
    """The Admin API over ``client`` (its database, strategies and files), with ``config``'s limits."""
    config = config or ServerConfig.from_env()
    app = FastAPI(
        title="batchctl Admin API",
        version=batchctl.__version__,
        description="Medusa v1's Admin batch-job API (wire-compatible with @medusajs/medusa-js), served by batchctl. "
        "Authenticate with `x-medusa-access-token` (an API token from `batchctl users add`), "
        "`Authorization: Bearer` (a JWT from POST /admin/auth/token) or the session cookie of POST /admin/auth.",
        docs_url="/docs",
        redoc_url=None,
    )
    users = Users(client.runtime)
    app.state.jobs = client
    app.state.users = users
    app.state.config = config
    app.state.authenticator = auth.Authenticator(users, config)
    app.state.stopping = threading.Event()
    settings = client.settings
    errors.install(app, errors.Scrubber([str(settings.files_dir), str(settings.data_dir), os.getcwd()]))
    app.include_router(auth.router)
    app.include_router(jobs.router)
    from batchctl.http import uploads

    app.include_router(uploads.router)
    _document(app)
    # Outermost last: CORS answers preflights before the limits and the routes see them.
    app.add_middleware(
        errors_limits(),
        max_body=config.max_body_bytes,
        max_upload=config.max_upload_bytes,
        timeout=config.request_timeout,
        upload_paths=UPLOAD_PATHS,
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "Content-Type",
                "Authorization",
                "x-medusa-access-token",
                "Idempotency-Key",
                "Last-Event-ID",
            ],
            max_age=600,
        )
    return app


def errors_limits() -> Any:
    """The Limits middleware class (imported here so that the module order stays one way)."""
    from batchctl.http.limits import Limits

    return Limits


def _document(app: FastAPI) -> None:
    """Add the hand-written shapes to the generated OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(schemas.COMPONENTS)
            document["components"]["securitySchemes"] = {
                "api_token": {"type": "apiKey", "in": "header", "name": "x-medusa-access-token"},
                "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": auth.SESSION_COOKIE},
            }
            document["security"] = [{"api_token": []}, {"jwt": []}, {"cookie": []}]
            for path, item in document.get("paths", {}).items():
                for operation in item.values():
                    # FastAPI documents a 422 for path parameters; this API answers 400 (Medusa's invalid_data).
                    operation.get("responses", {}).pop("422", None)
                    if path in ("/admin/auth", "/admin/auth/token") and operation.get("operationId", "").startswith(
                        ("token", "sign_in")
                    ):
                        operation["security"] = []
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
