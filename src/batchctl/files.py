"""The job file store under ``BATCHCTL_FILES``: the one module that knows where a job's files live.

Keys are paths relative to the store's root (``Settings.files_dir``, absolute), with ``/``:

    jobs/<job_id>/<name>                           a job's input, copied in at ``create``
    uploads/<user>/<32 hex>/<name>                 an Admin API upload (uploads.py), handed to an import by key
    exports/products/product-export-<job_id>.csv   product-export's output
    imports/<job_id>.rows                          product-import's spool of checked rows

Why a job reads only its own copy: ``create`` runs as the user who typed it, a worker may run as
someone else and much later. So the creating process opens the user's file (never through a symbolic
link, only a regular file) and streams it into the store; the context records the store key. The
worker then opens nothing but store keys, again without following links, and refuses a file that
resolves outside the store.

Every file a job was handed or writes has a ``batch_job_file`` row, written BEFORE the file is
created: a crash in between leaves a record (which ``prune`` clears) and never a file nobody knows.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, cast

from batchctl.db import Row, Tx
from batchctl.errors import BadContext

COPY_CHUNK = 1 << 20  # bytes per read while copying an input in: memory stays flat whatever the file size

UPLOAD_KEY = re.compile(
    r"^uploads/(?P<user>[A-Za-z0-9][A-Za-z0-9_.@-]{0,199})/(?P<id>[0-9a-f]{32})/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,199})$"
)
EXPORT_KEY = re.compile(r"^exports/products/product-export-(?P<job>batch_[0-9A-HJKMNP-TV-Z]{26})\.csv$")
_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$")


class Role(StrEnum):
    """Why a job has a file, which says when the file goes (``prune`` removes every one of them)."""

    INPUT = "input"  # handed to the job (copied in at create, or an upload): kept until prune
    SCRATCH = "scratch"  # the job's working file (an import's spool): removed when the job is canceled
    OUTPUT = "output"  # what the job makes (an export): removed when the job is canceled or fails


class StoredFileRefused(RuntimeError):
    """A job's stored file is missing, is not a regular file, or would be read through a link."""


def safe_name(filename: str | None, default: str = "upload") -> str:
    """A plain file name from one a user or a browser gave (no directories, no leading dot)."""
    base = (filename or default).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", base).lstrip(".-_")[:200]
    return cleaned or default


def check_key(key: str) -> str:
    """``key`` if it is a well-formed store key (relative, no ``..``, plain parts); ValueError otherwise."""
    parts = key.split("/")
    if not key or any(not _KEY_PART.match(part) for part in parts):
        raise ValueError(f"{key!r} is not a key of the file store")
    return key


def input_key(job_id: str, name: str) -> str:
    """Where ``create`` copies a job's input."""
    return f"jobs/{job_id}/{safe_name(name, 'input')}"


def export_key(job_id: str) -> str:
    """Where product-export writes the file of job ``job_id``."""
    return f"exports/products/product-export-{job_id}.csv"


def spool_key(job_id: str) -> str:
    """Where product-import spools the checked rows of job ``job_id`` (Medusa's "ops file")."""
    return f"imports/{job_id}.rows"


@dataclass(frozen=True)
class FileStore:
    """The files under ``root`` (BATCHCTL_FILES, absolute), by key."""

    root: Path

    def path(self, key: str) -> Path:
        """The path of a well-formed key (the file need not exist)."""
        return self.root / check_key(key)

    def key_of(self, path: str | Path) -> str | None:
        """The key of a path inside the store, or None (a path elsewhere, or not a well-formed key)."""
        candidate = Path(path)
        if not candidate.is_absolute():
            return None
        try:
            key = Path(os.path.normpath(candidate)).relative_to(self.root).as_posix()
            return check_key(key)
        except ValueError:
            return None

    def open_read(self, key: str) -> BinaryIO:
        """A stored file opened for reading: a regular file, not through a link, and really inside the store."""
        path = self.path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise StoredFileRefused(f"the stored file {key} is gone") from None
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise StoredFileRefused(f"the stored file {key} is a symbolic link; it is not read") from None
            raise StoredFileRefused(f"the stored file {key} cannot be read: {error.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StoredFileRefused(f"the stored file {key} is not a regular file; it is not read")
            # O_NOFOLLOW guards the last part only: a directory on the way may be a link out of the store.
            opened = os.path.realpath(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else str(path)
            if not Path(os.path.realpath(opened)).is_relative_to(os.path.realpath(self.root)):
                raise StoredFileRefused(f"the stored file {key} resolves outside the file store; it is not read")
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def open_write(self, key: str, mode: str = "wb") -> BinaryIO:
        """A job's own file in the store, opened to write (``wb``, ``ab`` or ``r+b``) without following a link."""
        flags = {
            "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
            "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            "r+b": os.O_RDWR,
        }[mode]
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        return cast(BinaryIO, os.fdopen(fd, mode))

    def copy_in(self, source_fd: int, key: str) -> int:
        """Stream an open file into the store under ``key`` (bounded memory, fsync, atomic rename); its size."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.part")
        out = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        size = 0
        try:
            while True:
                chunk = os.read(source_fd, COPY_CHUNK)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    written = os.write(out, view)
                    view = view[written:]
                size += len(chunk)
            os.fsync(out)
        except BaseException:
            os.close(out)
            temporary.unlink(missing_ok=True)
            raise
        os.close(out)
        os.replace(temporary, target)
        _fsync_dir(target.parent)
        return size

    def remove(self, key: str) -> bool:
        """Delete a stored file (and its job folder once empty); whether there was one."""
        return self.remove_path(self.path(key))

    def remove_path(self, path: Path) -> bool:
        """``remove`` for a path in the store (one a job's result names); whether there was a file."""
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        if path.parent.parent == self.root / "jobs":
            try:
                path.parent.rmdir()
            except OSError:  # not empty: another file of the job is still there
                pass
        return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the user's file, as the creating process opens it ---------------------------------------------------------


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def open_source(raw: str, *, label: str) -> tuple[int, Path]:
    """Open the file a user named for reading: a regular file, never through a symbolic link (BadContext).

    The path is made absolute, not resolved: resolving would follow the very link this refuses.
    """
    path = Path(raw).expanduser().absolute()
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise BadContext(f"{label} {raw!r}: no such file ({path})") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise BadContext(f"{label} {raw!r} is a symbolic link; give the file itself ({path})") from None
        raise BadContext(f"{label} {raw!r}: cannot read {path}: {error.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = _KINDS.get(stat.S_IFMT(mode), "not a plain file")
        raise BadContext(f"{label} {raw!r} is {kind}; give a regular file ({path})")
    os.set_blocking(fd, True)
    return fd, path


def check_source(raw: str, *, label: str) -> Path:
    """The absolute path of a readable regular file the user named (opened once to be sure); BadContext if not."""
    fd, path = open_source(raw, label=label)
    os.close(fd)
    return path


# -- staging a new job's inputs ---------------------------------------------------------------------------------


def display_field(name: str) -> str:
    """The context field that keeps the original name of input ``name`` for display (``file_key`` → ``file_name``)."""
    return name.removesuffix("_key") + "_name"


@dataclass
class Staged:
    """A new job's context with its inputs in the store, and the copies made (to undo if the job is not written)."""

    context: dict[str, Any]
    copied: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)


def stage_inputs(
    store: FileStore,
    job_id: str,
    context: Mapping[str, Any],
    fields: Sequence[str],
    *,
    user: str,
    record: Callable[[str, Role], None],
    forget: Callable[[str], None],
) -> Staged:
    """Put each input file named by ``context[field]`` into the store for job ``job_id``; the context with keys.

    A path to ``user``'s own upload is handed over by its key; any other path is opened here (regular
    file, no symbolic link) and copied to ``jobs/<job_id>/<name>``. ``record(key, role)`` writes the
    file's row and must be committed before the copy starts; on a failure the copies made so far and
    their rows go (``forget``), and the error is raised.
    """
    staged = Staged(dict(context))
    try:
        for name in fields:
            raw = staged.context.get(name)
            if not isinstance(raw, str) or not raw:
                continue
            upload = store.key_of(raw)
            if upload is not None and (match := UPLOAD_KEY.match(upload)) and match["user"] == user:
                store.open_read(upload).close()  # a regular file, inside the store
                record(upload, Role.INPUT)
                staged.recorded.append(upload)
                staged.context[name] = upload
                staged.context[display_field(name)] = match["name"]
                continue
            fd, path = open_source(raw, label=name)
            try:
                key = input_key(job_id, path.name)
                record(key, Role.INPUT)
                staged.recorded.append(key)
                staged.copied.append(key)
                store.copy_in(fd, key)
            finally:
                os.close(fd)
            staged.context[name] = key
            staged.context[display_field(name)] = str(path)
    except BaseException:
        discard(store, staged, forget)
        raise
    return staged


def discard(store: FileStore, staged: Staged, forget: Callable[[str], None]) -> None:
    """Remove the copies of a job that was not written, then the rows of every file it was to have."""
    for key in staged.copied:
        store.remove(key)
    for key in staged.recorded:
        forget(key)
    staged.copied.clear()
    staged.recorded.clear()


# -- the batch_job_file rows ----------------------------------------------------------------------------------------


def record(tx: Tx, job_id: str, key: str, role: Role, now: datetime) -> None:
    """Record that job ``job_id`` has the file ``key`` (again: a no-op)."""
    tx.execute(
        "INSERT INTO batch_job_file (job_id, key, role, created_at) VALUES (:job, :key, :role, :now) "
        "ON CONFLICT (job_id, key) DO NOTHING",
        {"job": job_id, "key": check_key(key), "role": role.value, "now": now},
    )


def forget(tx: Tx, job_id: str, keys: Iterable[str]) -> None:
    """Drop the rows of these files of job ``job_id``."""
    for key in keys:
        tx.execute("DELETE FROM batch_job_file WHERE job_id = :job AND key = :key", {"job": job_id, "key": key})


def files_of(tx: Tx, job_ids: Sequence[str]) -> list[Row]:
    """The recorded files (job_id, key, role) of these jobs."""
    if not job_ids:
        return []
    placeholders, params = tx.in_list("job", job_ids)
    return tx.execute(
        f"SELECT job_id, key, role FROM batch_job_file WHERE job_id IN ({placeholders}) ORDER BY job_id, key", params
    ).all()


def held_elsewhere(tx: Tx, key: str, job_ids: Sequence[str]) -> bool:
    """Whether a job other than ``job_ids`` still has the file ``key`` (one upload handed to two imports)."""
    placeholders, params = tx.in_list("job", job_ids)
    return (
        tx.execute(
            f"SELECT 1 FROM batch_job_file WHERE key = :key AND job_id NOT IN ({placeholders}) LIMIT 1",
            {"key": key, **params},
        ).one_or_none()
        is not None
    )
