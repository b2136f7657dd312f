"""Loading user code the way strategies and subscribers share: entry points, then files in folders.

The registries (``registry`` for strategies, ``subscribers.registry`` for subscribers) decide what counts
as a plugin inside a module; this module only finds and imports the modules, turning every failure into
one line that names the file or the package (exit 2), never a traceback wall.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from batchctl.errors import BadInput


@dataclass(frozen=True)
class PluginKind:
    """One kind of plugin: its noun in messages, its entry-point group, its env variable, its error."""

    noun: str  # "strategy", "subscriber"
    group: str  # "batchctl.strategies"
    env_var: str  # "BATCHCTL_STRATEGIES"
    error: type[BadInput]

    @property
    def module_prefix(self) -> str:
        """The private package name user files are imported under."""
        return "batchctl_user_strategies" if self.noun == "strategy" else f"batchctl_user_{self.noun}s"


@dataclass(frozen=True)
class EntryPoint:
    """One loaded entry point: its name, its package, what it names (``value``) and the loaded object."""

    name: str
    package: str
    value: str
    loaded: Any


def entry_points(kind: PluginKind) -> Iterator[EntryPoint]:
    """The entry points of ``kind``'s group, loaded; one that fails to load is ``kind.error``."""
    from importlib.metadata import entry_points as installed

    for entry_point in installed(group=kind.group):
        package = entry_point.dist.name if entry_point.dist else entry_point.value
        try:
            loaded = entry_point.load()
        except Exception as error:
            raise kind.error(
                f"{kind.noun} entry point {entry_point.name!r} of package {package} failed to load: "
                f"{type(error).__name__}: {error}"
            ) from error
        yield EntryPoint(entry_point.name, package, entry_point.value, loaded)


def python_files(path: Path, kind: PluginKind, *, explicit: bool) -> Iterator[Path]:
    """The ``*.py`` files of a folder (or the file itself); an explicit path that is neither is an error."""
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
    elif explicit:
        raise kind.error(f"{kind.env_var} names {path}, which is not a folder or a .py file")


def import_file(path: Path, kind: PluginKind) -> ModuleType:
    """Import one user file under a private module name; errors become one clear line.

    What the file prints while it is imported goes to stderr, so that ``--json`` output stays JSON; a
    file that exits (``sys.exit``) or interrupts itself at import is refused like one that raises.
    (``os._exit`` ends the process on the spot: nothing can report that one.)
    """
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"{kind.module_prefix}.{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    try:
        with resolved.open("rb"):  # a directory named *.py, a dangling link, a file we may not read
            pass
    except OSError as error:
        raise kind.error(f"{kind.noun} file {path} cannot be read: {error.strerror or error}") from error
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise kind.error(f"{kind.noun} file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let a plugin import helper modules that sit beside it.
    sys.path.insert(0, str(resolved.parent))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except BaseException as error:  # also SystemExit and KeyboardInterrupt: neither may end batchctl silently
        del sys.modules[name]
        raise kind.error(f"{kind.noun} file {path} failed to import: {_describe(error)}") from error
    finally:
        sys.path.remove(str(resolved.parent))
    return module


def _describe(error: BaseException) -> str:
    """What an import raised, in one line."""
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r}) at import; a plugin module must not exit"
    if isinstance(error, KeyboardInterrupt):
        return "KeyboardInterrupt raised at import"
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@dataclass(frozen=True)
class FolderFile:
    """One imported file of a plugin folder."""

    folder: Path
    path: Path
    module: ModuleType
    named_alone: bool  # the folder entry was this very file, named explicitly


def folder_modules(paths: Iterable[Path], kind: PluginKind) -> Iterator[FolderFile]:
    """Import every file of every folder, in order; the first path (``./strategies``…) may be absent."""
    loaded: set[Path] = set()
    for index, folder in enumerate(paths):
        # ./strategies and $PWD/strategies on BATCHCTL_STRATEGIES are one folder: load it once.
        if folder.resolve() in loaded:
            continue
        loaded.add(folder.resolve())
        explicit = index > 0  # the first path is the default folder, which may well not exist
        for path in python_files(folder, kind, explicit=explicit):
            yield FolderFile(folder, path, import_file(path, kind), explicit and folder.is_file())
