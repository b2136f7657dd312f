"""What a strategy class must look like to be registered: its type, its names and its hooks' signatures.

A class that breaks these would fail later and far from its cause (a type that is not a string breaks
``batchctl strategies``; a ``process`` without a ``job`` argument fails every job), so the registry
refuses it at load time with one line naming the class and what would be right.
"""

from __future__ import annotations

import inspect
import re

from batchctl import bounds
from batchctl.errors import BadInput
from batchctl.strategy import BatchJobStrategy

# Letters, digits and . _ : -, as a shell word and a URL segment; the column holds 100 characters.
BATCH_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
BATCH_TYPE_RULE = "letters, digits and . _ : - (starting with a letter or digit), at most 100 characters"
# Each hook and the arguments it is called with, after self.
HOOKS = {
    "prepare": ("context",),
    "pre_process": ("job",),
    "process": ("job",),
    "build_template": (),
    "on_canceled": ("job",),
    "should_retry": ("job", "error"),
    "handle_error": ("job", "error"),
}


def problem(strategy_class: type[BatchJobStrategy]) -> str | None:
    """What is wrong with ``strategy_class`` as a strategy, in one line, or None."""
    name = strategy_class.__qualname__
    batch_type = strategy_class.batch_type
    if not isinstance(batch_type, str) or not BATCH_TYPE.match(batch_type):
        return f"class {name} has batch_type {batch_type!r}; a batch_type is a string of {BATCH_TYPE_RULE}"
    for attribute in ("identifier", "description"):
        value = getattr(strategy_class, attribute)
        if not isinstance(value, str):
            return f"class {name} has {attribute} {value!r}; it must be a string"
    try:
        bounds.ATTEMPTS.check("max_attempts", strategy_class.max_attempts)
    except BadInput as refused:
        return f"class {name}: {refused}"
    for hook, arguments in HOOKS.items():
        wrong = _hook_problem(strategy_class, hook, arguments)
        if wrong is not None:
            return f"class {name}: {wrong}"
    return None


def _hook_problem(strategy_class: type[BatchJobStrategy], hook: str, arguments: tuple[str, ...]) -> str | None:
    expected = f"{hook}({', '.join(('self', *arguments))})"
    raw = inspect.getattr_static(strategy_class, hook)
    if raw is inspect.getattr_static(BatchJobStrategy, hook):
        return None  # the default
    if isinstance(raw, staticmethod | classmethod):
        target, placeholders = getattr(strategy_class, hook), len(arguments)
    elif inspect.isfunction(raw):
        target, placeholders = raw, len(arguments) + 1
    elif callable(raw):
        return None  # some callable object: how it binds is its own business
    else:
        return f"{hook} is {raw!r}, not a method; define it as {expected}"
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # no signature to read (a builtin): trust it
        return None
    try:
        signature.bind(*([None] * placeholders))
    except TypeError:
        return f"{hook}{signature} cannot be called as {expected}"
    return None
