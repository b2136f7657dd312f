"""The OpenAPI document's shapes (JSON Schema), written out: the routes parse and answer by hand, as Medusa does."""

from __future__ import annotations

from typing import Any

from batchctl.http.query import JOB_FIELDS, NULLABLE_TIMES, ORDERS, RANGE_TIMES

_TIME = {"type": ["string", "null"], "format": "date-time"}
_STATUS = ["created", "pre_processed", "confirmed", "processing", "completed", "failed", "canceled"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


COMPONENTS: dict[str, Any] = {
    "BatchJob": {
        "type": "object",
        # `fields` may leave out everything but these two.
        "required": ["id", "created_at"],
        "properties": {
            "id": {"type": "string"},
            "type": {"type": "string"},
            "status": {"type": "string", "enum": _STATUS},
            "created_by": {"type": "string"},
            "created_by_user": {"anyOf": [_ref("User"), {"type": "null"}]},
            "context": {"type": "object"},
            "dry_run": {"type": "boolean"},
            "result": {"type": ["object", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "deleted_at": _TIME,
            **{name: _TIME for name in (*NULLABLE_TIMES, "heartbeat_at")},
            "attempts": {"type": "integer"},
            "worker": {"type": ["string", "null"]},
        },
    },
    "BatchJobResponse": {
        "type": "object",
        "required": ["batch_job"],
        "properties": {"batch_job": _ref("BatchJob")},
    },
    "BatchJobList": {
        "type": "object",
        "required": ["batch_jobs", "count", "offset", "limit"],
        "properties": {
            "batch_jobs": {"type": "array", "items": _ref("BatchJob")},
            "count": {"type": "integer"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["type", "message"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}},
    },
    "User": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string"},
            "email": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
        },
    },
    "UserResponse": {"type": "object", "required": ["user"], "properties": {"user": _ref("User")}},
    "AccessToken": {"type": "object", "required": ["access_token"], "properties": {"access_token": {"type": "string"}}},
    "Uploads": {
        "type": "object",
        "required": ["uploads"],
        "properties": {
            "uploads": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["url", "key"],
                    "properties": {"url": {"type": "string"}, "key": {"type": "string"}},
                },
            }
        },
    },
    "DownloadUrl": {"type": "object", "required": ["download_url"], "properties": {"download_url": {"type": "string"}}},
}

_ERROR = {"content": {"application/json": {"schema": _ref("Error")}}}
UNAUTHORIZED = {
    "description": "No, a wrong or a revoked credential",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid data or a refused transition", **_ERROR},
    401: UNAUTHORIZED,
    404: {"description": "Not found", **_ERROR},
    413: {"description": "The body is too large", **_ERROR},
    429: {"description": "Too many failed credentials", **_ERROR},
    500: {"description": "Unexpected", **_ERROR},
}


def json_response(name: str, description: str = "OK") -> dict[str, Any]:
    """A documented JSON answer with component ``name``."""
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _param(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description, **extra}


_ISO = {"type": "string", "format": "date-time"}
LIST_PARAMETERS: list[dict[str, Any]] = [
    _param("limit", {"type": "integer", "minimum": 0, "maximum": 1000, "default": 10}, "Page size"),
    _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "Jobs to skip"),
    _param(
        "order",
        {"type": "string", "enum": [p + c for c in ORDERS for p in ("", "-")], "default": "-created_at"},
        "Sort column; `-` for descending",
    ),
    _param(
        "type[]",
        {"type": "array", "items": {"type": "string"}},
        "Job types (a comma list per item works too)",
        explode=True,
    ),
    _param("id[]", {"type": "array", "items": {"type": "string"}}, "Job ids", explode=True),
    _param(
        "fields", {"type": "string"}, f"Comma list of fields ({', '.join(JOB_FIELDS)}); id and created_at always come"
    ),
    _param("expand", {"type": "string", "enum": ["created_by_user"]}, "Relations to include"),
    *[
        _param(name, {"type": "string", "enum": ["null"]}, f"`null`: jobs whose {name} is not set")
        for name in NULLABLE_TIMES
    ],
    *[
        _param(f"{name}[{op}]", _ISO, f"{name} {op} this ISO-8601 time")
        for name in (*RANGE_TIMES, *NULLABLE_TIMES)
        for op in ("lt", "gt", "lte", "gte")
    ],
]

CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["type", "context"],
                    "properties": {
                        "type": {"type": "string", "minLength": 1},
                        "context": {"type": "object"},
                        "dry_run": {"type": "boolean", "default": False},
                    },
                    "additionalProperties": False,
                }
            }
        },
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Repeat a create safely: the same key from the same user returns the first job",
        }
    ],
}
