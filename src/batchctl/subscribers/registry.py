"""Finding subscribers: built-ins, then installed packages, then folders; a later one of the same name wins.

The same sources as strategies (``batchctl.plugins``): the entry-point group ``batchctl.subscribers`` (a
module of decorated functions, or one function) and every ``*.py`` in ``./subscribers`` and each path of
``BATCHCTL_SUBSCRIBERS``. A subscriber's name is ``@subscriber(name=…)`` or ``<file stem>.<function>``
(``<module>.<function>`` for packages): its cursor and deliveries are kept under that name.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from batchctl import plugins
from batchctl.errors import SubscriberLoadError
from batchctl.subscribers.api import MARKER, Filter, Handler, SubscriberSpec

ENTRY_POINT_GROUP = "batchctl.subscribers"
KIND = plugins.PluginKind("subscriber", ENTRY_POINT_GROUP, "BATCHCTL_SUBSCRIBERS", SubscriberLoadError)

# module name -> the modules of subscribers shipped with batchctl (none yet; the table is the seam).
BUILTINS: dict[str, str] = {}


@dataclass(frozen=True)
class SubscriberInfo:
    """One Python subscriber and where it came from."""

    name: str
    source: str  # "built-in", "package NAME" or "folder PATH"
    origin: str  # the module or file that defines it
    filter: Filter
    max_attempts: int
    function: Handler


def subscribers_in(module: ModuleType) -> list[SubscriberSpec]:
    """The decorated functions a module defines itself (not the ones it imports)."""
    found = []
    for value in vars(module).values():
        spec = getattr(value, MARKER, None)
        if isinstance(spec, SubscriberSpec) and getattr(value, "__module__", None) == module.__name__:
            found.append(spec)
    return found


def _name(spec: SubscriberSpec, prefix: str) -> str:
    return spec.name or f"{prefix}.{spec.function.__name__}"


def _info(spec: SubscriberSpec, prefix: str, source: str, origin: str) -> SubscriberInfo:
    return SubscriberInfo(_name(spec, prefix), source, origin, spec.filter, spec.max_attempts, spec.function)


def _add_all(
    found: dict[str, SubscriberInfo], infos: Iterable[SubscriberInfo], where: str, seen: dict[str, str] | None = None
) -> None:
    """Add one source's subscribers; two of one name in the same source are an error naming both."""
    seen = {} if seen is None else seen
    for info in infos:
        if info.name in seen:
            raise SubscriberLoadError(
                f"two subscribers named {info.name!r} in {where}: {seen[info.name]} and {info.origin}; "
                "rename one (@subscriber(name=...))"
            )
        seen[info.name] = info.origin
        found[info.name] = info


def load_subscribers(paths: Iterable[Path], *, entry_points: bool = True) -> dict[str, SubscriberInfo]:
    """Every Python subscriber, by name: built-ins first, folders last (later ones win)."""
    found: dict[str, SubscriberInfo] = {}
    for module_name in BUILTINS.values():
        module = importlib.import_module(module_name)
        specs = subscribers_in(module)
        _add_all(found, (_info(s, module_name, "built-in", module_name) for s in specs), "the built-ins")
    if entry_points:
        for entry_point in plugins.entry_points(KIND):
            loaded = entry_point.loaded
            if isinstance(loaded, ModuleType):
                specs = subscribers_in(loaded)
            elif isinstance(getattr(loaded, MARKER, None), SubscriberSpec):
                specs = [getattr(loaded, MARKER)]
            else:
                raise SubscriberLoadError(
                    f"subscriber entry point {entry_point.name!r} of package {entry_point.package} "
                    "is not an @subscriber function or a module of them"
                )
            source = f"package {entry_point.package}"
            infos = (_info(s, s.function.__module__, source, entry_point.value) for s in specs)
            _add_all(found, infos, source)
    seen_in_folder: dict[Path, dict[str, str]] = {}
    for folder_file in plugins.folder_modules(paths, KIND):
        specs = subscribers_in(folder_file.module)
        if folder_file.named_alone and not specs:
            raise SubscriberLoadError(f"subscriber file {folder_file.path} defines no @subscriber function")
        source = f"folder {folder_file.folder}"
        stem = folder_file.path.stem
        infos = (_info(s, stem, source, str(folder_file.path)) for s in specs)
        _add_all(found, infos, str(folder_file.folder), seen_in_folder.setdefault(folder_file.folder, {}))
    return found
