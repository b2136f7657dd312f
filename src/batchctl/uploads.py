"""Uploaded files (the Admin API's ``POST /admin/uploads``), kept under ``BATCHCTL_FILES/uploads``.

An upload exists before any job does, so it is keyed by its owner, ``uploads/<user>/<32 hex>/<name>``
(the keys are the file store's, ``files.py``); an import created over HTTP is handed it by key. A key is
opaque to callers; ``owner_of`` tells whose it is, and ``path_of`` resolves only a well-formed key of the
given user, never a path the caller chose.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from batchctl.errors import BadInput, NotFound, NotOwner
from batchctl.files import EXPORT_KEY, UPLOAD_KEY, FileStore, safe_name

__all__ = ["EXPORT_KEY", "UPLOAD_KEY", "Uploads", "safe_name"]


@dataclass(frozen=True)
class Uploads:
    """The files under ``root`` (BATCHCTL_FILES) that the Admin API may hand out by key."""

    root: Path

    def save(self, user: str, filename: str | None, readable: IO[bytes]) -> str:
        """Copy an uploaded stream into the store; its key."""
        key = f"uploads/{user}/{secrets.token_hex(16)}/{safe_name(filename)}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.part")
        with temporary.open("wb") as handle:
            shutil.copyfileobj(readable, handle, 1 << 20)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        return key

    def owner_of(self, key: str) -> tuple[str, str]:
        """``("user", name)`` for an upload key, ``("job", job_id)`` for an export's; BadInput otherwise."""
        upload = UPLOAD_KEY.match(key)
        if upload:
            return "user", upload["user"]
        export = EXPORT_KEY.match(key)
        if export:
            return "job", export["job"]
        raise BadInput(f"{key!r} is not a file key of this server (keys come from uploads and exports)")

    def path_of(self, key: str) -> Path:
        """The file of a well-formed key (NotFound when it is gone); never follows a link out of the store."""
        self.owner_of(key)
        path = self.root / key
        if path.is_symlink() or not path.is_file():
            raise NotFound(f"file {key} was not found")
        return path

    def upload_path(self, user: str, key: str) -> Path:
        """The file of ``user``'s upload ``key``: NotOwner for someone else's, BadInput for a non-upload key."""
        kind, owner = self.owner_of(key)
        if kind != "user":
            raise BadInput(f"{key!r} is not an upload key (POST /admin/uploads returns one)")
        if owner != user:
            raise NotOwner("Cannot access a file that does not belong to the logged in user")
        return self.path_of(key)

    def key_of(self, path: str) -> str | None:
        """The key of a stored file given by its key or its path inside the store, or None (shown as keys)."""
        store = FileStore(self.root)
        if not Path(path).is_absolute():
            try:
                store.path(path)
            except ValueError:
                return None
            return path
        return store.key_of(path)
