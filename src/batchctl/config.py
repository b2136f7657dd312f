"""Settings read once from the environment (``BATCHCTL_*``) into one frozen object."""

from __future__ import annotations

import getpass
import math
import os
from dataclasses import dataclass
from pathlib import Path

from batchctl import bounds
from batchctl.errors import BadInput
from batchctl.masking import driver_url, mask_text, mask_url, url_secrets

__all__ = ["Settings", "float_env", "mask_url"]

APP_NAME = "batchctl"


def _data_dir() -> Path:
    home = os.environ.get("BATCHCTL_HOME")
    if home:
        return Path(home).expanduser().absolute()
    # platformdirs is imported lazily: it is only needed when no explicit home is set.
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_database_url(data_dir: Path) -> str:
    """The embedded database's URL when BATCHCTL_DATABASE_URL is not set."""
    return f"sqlite:///{data_dir / 'batchctl.db'}"


def float_env(name: str, default: float, *, high: float = bounds.MAX_SECONDS) -> float:
    """A number of seconds in (0, ``high``] from the environment variable ``name`` (``default`` when unset)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:  # said with the text as typed; bounds.seconds adds the ceiling
        raise BadInput(f"{name} must be a finite number of seconds greater than 0, got {raw!r}")
    return bounds.seconds(name, value, high=high)


def int_env(name: str, default: int, bound: bounds.Bound) -> int:
    """A whole number in ``bound`` from the environment variable ``name`` (``default`` when unset or empty)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return bound.parse(name, raw)


def files_root(raw: str | Path | None, data_dir: Path) -> Path:
    """BATCHCTL_FILES as an absolute path, decided once when the settings are read.

    A relative value is taken relative to the data directory (BATCHCTL_HOME), not to the working
    directory: a CLI and a worker started in different directories must agree on where a job's files
    are, and the file store's keys are relative to this root.
    """
    if raw is None or str(raw) == "":
        return (data_dir / "files").absolute()
    path = Path(raw).expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else data_dir.absolute() / path))


def _max_attempts() -> int | None:
    raw = os.environ.get("BATCHCTL_MAX_ATTEMPTS")
    if not raw:
        return None
    return bounds.ATTEMPTS.parse("BATCHCTL_MAX_ATTEMPTS", raw)


def _redis_url() -> str | None:
    url = os.environ.get("BATCHCTL_REDIS_URL") or None
    if url is None:
        return None
    from urllib.parse import urlsplit

    problem = None
    try:
        # Checked as the driver will read it: a raw '#' or '/' in the password must not end the host part.
        parts = urlsplit(driver_url(url))
        if parts.scheme not in ("redis", "rediss", "unix"):
            problem = "the scheme must be redis://, rediss:// or unix://"
        else:
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as error:
        problem = mask_text(str(error), url_secrets(url))
    if problem:
        raise BadInput(f"BATCHCTL_REDIS_URL {mask_url(url)!r} is not a valid Redis URL: {problem}")
    return url


def _user() -> str:
    explicit = os.environ.get("BATCHCTL_USER")
    if explicit:
        try:
            explicit.encode("utf-8")
        except UnicodeEncodeError:  # bytes that are not UTF-8 (Python keeps them as surrogates)
            raise BadInput(f"BATCHCTL_USER {explicit!r} is not valid UTF-8; give the name in UTF-8") from None
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        return "unknown"


def _paths_env(default_folder: str, name: str) -> tuple[Path, ...]:
    """The default folder (which may be absent) and then each path of the os.pathsep-separated variable."""
    extra = os.environ.get(name, "")
    return (Path(default_folder), *(Path(p) for p in extra.split(os.pathsep) if p))


@dataclass(frozen=True)
class Settings:
    """Everything batchctl reads from the environment, validated up front."""

    data_dir: Path
    database_url: str
    redis_url: str | None
    queue_name: str
    strategy_paths: tuple[Path, ...]
    user: str
    files_dir: Path
    lease_seconds: float
    poll_interval: float
    reconcile_interval: float
    max_attempts: int | None
    retry_base_seconds: float
    # ./subscribers and BATCHCTL_SUBSCRIBERS (os.pathsep-separated), loaded by workers like strategies.
    subscriber_paths: tuple[Path, ...] = (Path("subscribers"),)

    def __post_init__(self) -> None:
        # Also for settings made in code (``connect(lease_seconds=…)``), not only from the environment.
        for name in ("lease_seconds", "poll_interval", "reconcile_interval", "retry_base_seconds"):
            bounds.seconds(name, getattr(self, name))
        if self.max_attempts is not None:
            bounds.ATTEMPTS.check("max_attempts", self.max_attempts)

    @classmethod
    def from_env(cls) -> Settings:
        """Build the settings from ``BATCHCTL_*`` variables and their defaults."""
        data_dir = _data_dir()
        database_url = os.environ.get("BATCHCTL_DATABASE_URL") or default_database_url(data_dir)
        strategy_paths = _paths_env("strategies", "BATCHCTL_STRATEGIES")
        files_dir = files_root(os.environ.get("BATCHCTL_FILES"), data_dir)
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=_redis_url(),
            queue_name=os.environ.get("BATCHCTL_QUEUE_NAME") or APP_NAME,
            strategy_paths=strategy_paths,
            user=_user(),
            files_dir=files_dir,
            lease_seconds=float_env("BATCHCTL_LEASE_SECONDS", 30.0),
            poll_interval=float_env("BATCHCTL_POLL_INTERVAL", 0.05),
            reconcile_interval=float_env("BATCHCTL_RECONCILE_INTERVAL", 30.0),
            max_attempts=_max_attempts(),
            retry_base_seconds=float_env("BATCHCTL_RETRY_BASE_SECONDS", 1.0),
            subscriber_paths=_paths_env("subscribers", "BATCHCTL_SUBSCRIBERS"),
        )
