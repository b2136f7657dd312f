"""Files through the store: ``POST /admin/uploads`` (multipart ``files``) for imports, and signed, expiring
download URLs (``POST /admin/uploads/download-url``) for the caller's own uploads and exports.

A download URL is ``/admin/uploads/download/<payload>.<signature>``: the payload names the key, the user and
the expiry, signed with HMAC-SHA256 under the users' signing secret. Anything altered, expired, or no longer
the user's (a removed user, a pruned job) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from batchctl.client import Jobs
from batchctl.errors import BadInput, BatchctlError, NotFound, NotOwner
from batchctl.http import schemas
from batchctl.http.auth import authenticator, current_user
from batchctl.http.body import parse_json
from batchctl.uploads import Uploads
from batchctl.users import User

router = APIRouter(tags=["uploads"])
CALLER = Depends(current_user)
MAX_FILES = 10


class LinkRefused(BatchctlError):
    """This download link is invalid or has expired."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(secret: bytes, key: str, user: str, expires: int) -> str:
    """The signed token of a download URL."""
    payload = _b64(json.dumps([key, user, expires], separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def check_link(secret: bytes, token: str, now: float) -> tuple[str, str]:
    """``(key, user)`` of a valid, unexpired token; LinkRefused otherwise."""
    payload, _, signature = token.partition(".")
    expected = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        raise LinkRefused()
    try:
        key, user, expires = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        raise LinkRefused() from None
    if not isinstance(key, str) or not isinstance(user, str) or not isinstance(expires, int) or expires < now:
        raise LinkRefused()
    return key, user


def owned_file(jobs: Jobs, uploads: Uploads, key: str) -> str:
    """The key, once it is known to be the caller's: their upload, or the export of one of their jobs."""
    kind, owner = uploads.owner_of(key)
    if kind == "user":
        if owner != jobs.user:
            raise NotOwner("Cannot access a file that does not belong to the logged in user")
        return key
    job = jobs.get(owner)
    if job.created_by != jobs.user:
        raise NotOwner("Cannot access a file that does not belong to the logged in user")
    stored = (job.result or {}).get("file_key")
    if not isinstance(stored, str) or uploads.key_of(stored) != key:
        raise NotFound(f"file {key} was not found")
    return key


def _jobs(request: Request, user: User) -> Jobs:
    jobs: Jobs = request.app.state.jobs
    return jobs.as_user(user.id)


def _link(request: Request, key: str, user: User) -> str:
    auth = authenticator(request)
    expires = int(time.time()) + auth.config.download_url_seconds
    token = sign_link(auth.secret, key, user.id, expires)
    return str(request.url_for("download", token=token))


@router.post(
    "/admin/uploads",
    summary="Upload files (multipart field `files`), e.g. a CSV for product-import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files"],
                        "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                    }
                }
            },
        }
    },
    responses={200: schemas.json_response("Uploads"), **schemas.ERRORS},
)
async def upload(request: Request, user: User = CALLER) -> Response:
    """Store each file; its key goes into a product-import's ``context.fileKey``."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadInput("POST /admin/uploads takes multipart/form-data with the field files")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    except BatchctlError:
        raise
    except Exception as error:  # python-multipart's parse errors: the client's malformed body
        raise BadInput(f"The multipart body could not be read: {type(error).__name__}") from None
    files = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not files:
        raise BadInput("files must contain at least one file")
    uploads = _jobs(request, user).uploads()
    answered: list[dict[str, Any]] = []
    try:
        for item in files:
            key = await run_in_threadpool(uploads.save, user.id, item.filename, item.file)
            answered.append({"key": key, "url": _link(request, key, user)})
    finally:
        await form.close()
    return JSONResponse({"uploads": answered})


@router.post(
    "/admin/uploads/download-url",
    summary="A signed, expiring URL to download one of the caller's files",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["file_key"],
                        "properties": {"file_key": {"type": "string"}},
                        "additionalProperties": False,
                    }
                }
            },
        }
    },
    responses={200: schemas.json_response("DownloadUrl"), **schemas.ERRORS},
)
async def download_url(request: Request, user: User = CALLER) -> Response:
    """``{"file_key"}`` (an upload key, or an export's ``result.file_key``) → ``{"download_url"}``."""
    body = parse_json(await request.body())
    if not isinstance(body, dict) or not isinstance(body.get("file_key"), str) or set(body) - {"file_key"}:
        problems = [f"property {k} should not exist" for k in body if k != "file_key"] if isinstance(body, dict) else []
        raise BadInput(", ".join(["file_key must be a string", *problems]))
    jobs = _jobs(request, user)
    key = await run_in_threadpool(owned_file, jobs, jobs.uploads(), body["file_key"])
    return JSONResponse({"download_url": _link(request, key, user)})


@router.get(
    "/admin/uploads/download/{token}",
    name="download",
    summary="Download a file by a signed URL (no other credential needed until it expires)",
    responses={
        200: {"description": "The file", "content": {"application/octet-stream": {"schema": {"type": "string"}}}},
        403: {
            "description": "Altered or expired",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        404: schemas.ERRORS[404],
    },
)
def download(request: Request, token: str) -> Response:
    """The file a download URL names, while the URL is valid and the file still the signer's."""
    auth = authenticator(request)
    try:
        key, user_id = check_link(auth.secret, token, time.time())
        user = auth.users.find(user_id)
        if user is None:
            raise LinkRefused()
        jobs: Jobs = request.app.state.jobs
        uploads = jobs.uploads()
        owned_file(jobs.as_user(user.id), uploads, key)
        path = uploads.path_of(key)
    except (LinkRefused, NotOwner, BadInput):
        return JSONResponse({"type": "not_allowed", "message": LinkRefused().args[0]}, status_code=403)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")
