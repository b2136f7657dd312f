"""Finding strategies: built-ins, then installed packages, then folders; later ones override by type."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from batchctl import plugins, strategy_checks
from batchctl.errors import StrategyLoadError, UnknownType
from batchctl.strategy import BatchJobStrategy

ENTRY_POINT_GROUP = "batchctl.strategies"
KIND = plugins.PluginKind("strategy", ENTRY_POINT_GROUP, "BATCHCTL_STRATEGIES", StrategyLoadError)

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


def _info(strategy_class: type[BatchJobStrategy], source: str, origin: str, where: str) -> StrategyInfo:
    """The registry entry of a strategy class; ``where`` names the file or package in the refusal."""
    problem = strategy_checks.problem(strategy_class)
    if problem is not None:
        raise StrategyLoadError(f"{where}: {problem}")
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
            # A class that sets no batch_type is a base for others; one that sets it (even to "") is meant.
            and (value.batch_type or "batch_type" in vars(value))
        ):
            found.append(value)
    return found


def _load_builtins(registry: Registry) -> None:
    for target in BUILTINS.values():
        module_name, _, class_name = target.partition(":")
        strategy_class = getattr(importlib.import_module(module_name), class_name)
        registry.register(_info(strategy_class, "built-in", module_name, f"built-in strategy {target}"))


def _load_entry_points(registry: Registry) -> None:
    for entry_point in plugins.entry_points(KIND):
        loaded = entry_point.loaded
        classes = strategies_in(loaded) if isinstance(loaded, ModuleType) else [loaded]
        for strategy_class in classes:
            if not (inspect.isclass(strategy_class) and issubclass(strategy_class, BatchJobStrategy)):
                raise StrategyLoadError(
                    f"strategy entry point {entry_point.name!r} of package {entry_point.package} "
                    "is not a BatchJobStrategy subclass or a module of them"
                )
            where = f"strategy entry point {entry_point.name!r} of package {entry_point.package}"
            registry.register(_info(strategy_class, f"package {entry_point.package}", entry_point.value, where))


def _load_folders(registry: Registry, strategy_paths: Iterable[Path]) -> None:
    seen: dict[tuple[Path, str], Path] = {}
    for found in plugins.folder_modules(strategy_paths, KIND):
        classes = strategies_in(found.module)
        if found.named_alone and not classes:
            raise StrategyLoadError(
                f"strategy file {found.path} defines no BatchJobStrategy subclass with a batch_type"
            )
        for strategy_class in classes:
            info = _info(strategy_class, f"folder {found.folder}", str(found.path), f"strategy file {found.path}")
            clash = seen.get((found.folder, strategy_class.batch_type))
            if clash is not None:
                raise StrategyLoadError(
                    f"two strategies for the type {strategy_class.batch_type!r} in {found.folder}: "
                    f"{clash} and {found.path}; keep one"
                )
            seen[(found.folder, strategy_class.batch_type)] = found.path
            registry.register(info)


def load_registry(strategy_paths: Iterable[Path], *, entry_points: bool = True) -> Registry:
    """Every strategy batchctl can run, built-ins first, folders last (later ones win)."""
    registry = Registry()
    _load_builtins(registry)
    if entry_points:
        _load_entry_points(registry)
    _load_folders(registry, strategy_paths)
    return registry
