"""Medusa's contexts for the product jobs, turned into batchctl's, and batchctl's file paths shown as keys.

- product-import: Medusa sends ``{"fileKey": key}`` (a key from ``POST /admin/uploads``). Over HTTP only the
  caller's own upload keys are accepted, never a path: the server must not read files a client names.
- product-export: Medusa sends ``{"filterable_fields": {...}, "batch_size"?, "order"?}``.
"""

from __future__ import annotations

from typing import Any

from batchctl.errors import BadInput
from batchctl.uploads import Uploads

EXPORT_FILTERS = ("status", "handle", "created_at")
EXPORT_ORDERS = ("created_at", "id")


def import_context(context: dict[str, Any], uploads: Uploads, user: str) -> dict[str, Any]:
    """``fileKey``/``file_key`` (an upload of ``user``) → the stored file; a path is refused."""
    if "file" in context:
        raise BadInput("context.file is not accepted over HTTP: upload the CSV (POST /admin/uploads) and send fileKey")
    if "fileKey" in context and "file_key" in context:
        raise BadInput("give the upload as context.fileKey or context.file_key, not both")
    rest = {k: v for k, v in context.items() if k not in ("fileKey", "file_key")}
    key = context.get("fileKey", context.get("file_key"))
    if not isinstance(key, str) or not key:
        raise BadInput("context.fileKey is required: the key POST /admin/uploads returned for the CSV")
    return {**rest, "file_key": str(uploads.upload_path(user, key))}


def export_context(context: dict[str, Any]) -> dict[str, Any]:
    """Medusa's ``filterable_fields`` / ``batch_size`` / ``order`` → batchctl's product-export context."""
    medusa_keys = {"filterable_fields", "batch_size", "order", "list_config"}
    if not medusa_keys & set(context):
        return context
    rest = {k: v for k, v in context.items() if k not in medusa_keys}
    if "list_config" in context:
        raise BadInput("context.list_config is Medusa's internal form; send filterable_fields, batch_size and order")
    filters = context.get("filterable_fields") or {}
    if not isinstance(filters, dict):
        raise BadInput("context.filterable_fields must be an object")
    unknown = sorted(set(filters) - set(EXPORT_FILTERS))
    if unknown:
        raise BadInput(
            f"context.filterable_fields.{unknown[0]} is not supported; use some of: {', '.join(EXPORT_FILTERS)}"
        )
    if "status" in filters:
        rest["status"] = filters["status"]
    if "handle" in filters:
        rest["handles"] = filters["handle"]
    created = filters.get("created_at")
    if created is not None:
        if not isinstance(created, dict) or set(created) - {"gt", "gte", "lt", "lte"}:
            raise BadInput("context.filterable_fields.created_at must be an object with gt, gte, lt or lte")
        for op, value in created.items():
            rest["created_after" if op.startswith("g") else "created_before"] = value
    if "batch_size" in context:
        rest["chunk_size"] = context["batch_size"]
    order = context.get("order")
    if order is not None and order not in EXPORT_ORDERS:
        # The export walks products by id, which is their creation order.
        raise BadInput(f"context.order {order!r} is not supported; products are exported by created_at ascending")
    return rest


def adapt_context(batch_type: str, context: dict[str, Any], uploads: Uploads, user: str) -> dict[str, Any]:
    """The context to give the strategy for a create over HTTP."""
    if batch_type == "product-import":
        return import_context(context, uploads, user)
    if batch_type == "product-export":
        return export_context(context)
    return context


def show_keys(job: dict[str, Any], uploads: Uploads) -> dict[str, Any]:
    """A job's JSON with the server's file paths (``file_key``) shown as store keys."""
    for section in ("context", "result"):
        values = job.get(section)
        if isinstance(values, dict) and isinstance(values.get("file_key"), str):
            key = uploads.key_of(values["file_key"])
            values["file_key"] = key if key is not None else "(outside the file store)"
    return job
