"""Finding strategies: built-ins, then installed packages, then folders; later ones override by type."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from batchctl.errors import StrategyLoadError, UnknownType
from batchctl.strategy import BatchJobStrategy

ENTRY_POINT_GROUP = "batchctl.strategies"

# Imported only when asked for: listing them must not cost their imports.
BUILTINS = {
    "noop": "batchctl.builtin.noop:NoopStrategy",
    "product-export": "batchctl.catalog.export_strategy:ProductExportStrategy",
    "product-import": "batchctl.catalog.import_strategy:ProductImportStrategy",
}


@dataclass(frozen=True)
class StrategyInfo:
    """One registered strategy and where it came from."""

    batch_type: str
    identifier: str
    source: str  # "built-in", "package NAME" or "folder PATH"
    origin: str  # the module or file that defines it
    strategy_class: type[BatchJobStrategy]
    description: str = ""

    def create(self) -> BatchJobStrategy:
        """A fresh instance of the strategy."""
        return self.strategy_class()


@dataclass
class Registry:
    """The strategies by batch type, with the ones they replaced."""

    by_type: dict[str, StrategyInfo] = field(default_factory=dict)
    overridden: list[StrategyInfo] = field(default_factory=list)

    def register(self, info: StrategyInfo) -> None:
        """Add a strategy; one of the same type from an earlier source is overridden."""
        previous = self.by_type.get(info.batch_type)
        if previous is not None and previous.strategy_class is not info.strategy_class:
            self.overridden.append(previous)
        self.by_type[info.batch_type] = info

    def get(self, batch_type: str) -> StrategyInfo:
        """The strategy for ``batch_type`` or an UnknownType (a BadInput) that lists the known types."""
        info = self.by_type.get(batch_type)
        if info is None:
            known = ", ".join(sorted(self.by_type)) or "none"
            raise UnknownType(f"Unable to find a BatchJob strategy with the type {batch_type} (known types: {known})")
        return info


def _info(strategy_class: type[BatchJobStrategy], source: str, origin: str) -> StrategyInfo:
    batch_type = strategy_class.batch_type
    return StrategyInfo(
        batch_type=batch_type,
        identifier=strategy_class.identifier or f"{batch_type}-strategy",
        source=source,
        origin=origin,
        strategy_class=strategy_class,
        # The class's own docstring only: inspect.getdoc would fall back to BatchJobStrategy's.
        description=strategy_class.description
        or inspect.cleandoc(vars(strategy_class).get("__doc__") or "").split("\n")[0],
    )


def strategies_in(module: ModuleType) -> list[type[BatchJobStrategy]]:
    """The strategy classes a module defines itself (not the ones it imports)."""
    found = []
    for value in vars(module).values():
        if (
            inspect.isclass(value)
            and issubclass(value, BatchJobStrategy)
            and value is not BatchJobStrategy
            and value.__module__ == module.__name__
            and value.batch_type
        ):
            found.append(value)
    return found


def _load_builtins(registry: Registry) -> None:
    for target in BUILTINS.values():
        module_name, _, class_name = target.partition(":")
        strategy_class = getattr(importlib.import_module(module_name), class_name)
        registry.register(_info(strategy_class, "built-in", module_name))


def _load_entry_points(registry: Registry) -> None:
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        package = entry_point.dist.name if entry_point.dist else entry_point.value
        try:
            loaded = entry_point.load()
        except Exception as error:
            raise StrategyLoadError(
                f"strategy entry point {entry_point.name!r} of package {package} failed to load: "
                f"{type(error).__name__}: {error}"
            ) from error
        classes = strategies_in(loaded) if isinstance(loaded, ModuleType) else [loaded]
        for strategy_class in classes:
            if not (inspect.isclass(strategy_class) and issubclass(strategy_class, BatchJobStrategy)):
                raise StrategyLoadError(
                    f"strategy entry point {entry_point.name!r} of package {package} "
                    "is not a BatchJobStrategy subclass or a module of them"
                )
            registry.register(_info(strategy_class, f"package {package}", entry_point.value))


def _python_files(path: Path, *, explicit: bool) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from sorted(p for p in path.glob("*.py") if not p.name.startswith("_"))
    elif explicit:
        raise StrategyLoadError(f"BATCHCTL_STRATEGIES names {path}, which is not a folder or a .py file")


def import_file(path: Path) -> ModuleType:
    """Import one strategy file under a private module name; errors become one clear line."""
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"batchctl_user_strategies.{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"strategy file {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let a strategy import helper modules that sit beside it.
    sys.path.insert(0, str(resolved.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise StrategyLoadError(f"strategy file {path} failed to import: {type(error).__name__}: {error}") from error
    finally:
        sys.path.remove(str(resolved.parent))
    return module


def _load_folder(registry: Registry, folder: Path, *, explicit: bool) -> None:
    seen: dict[str, Path] = {}
    for path in _python_files(folder, explicit=explicit):
        classes = strategies_in(import_file(path))
        if explicit and folder.is_file() and not classes:
            raise StrategyLoadError(f"strategy file {path} defines no BatchJobStrategy subclass with a batch_type")
        for strategy_class in classes:
            clash = seen.get(strategy_class.batch_type)
            if clash is not None:
                raise StrategyLoadError(
                    f"two strategies for the type {strategy_class.batch_type!r} in {folder}: "
                    f"{clash} and {path}; keep one"
                )
            seen[strategy_class.batch_type] = path
            registry.register(_info(strategy_class, f"folder {folder}", str(path)))


def load_registry(strategy_paths: Iterable[Path], *, entry_points: bool = True) -> Registry:
    """Every strategy batchctl can run, built-ins first, folders last (later ones win)."""
    registry = Registry()
    _load_builtins(registry)
    if entry_points:
        _load_entry_points(registry)
    loaded: set[Path] = set()
    for index, folder in enumerate(strategy_paths):
        # ./strategies and $PWD/strategies on BATCHCTL_STRATEGIES are one folder: load it once.
        if folder.resolve() in loaded:
            continue
        loaded.add(folder.resolve())
        # The first path is ./strategies, which may well not exist; the others were asked for.
        _load_folder(registry, folder, explicit=index > 0)
    return registry
