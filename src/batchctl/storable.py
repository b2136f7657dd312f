"""What the database can store, checked before anything is written: one rule for contexts, results and events.

A value that cannot be stored fails the same way every time it is written, so writing it is refused up
front with ``Unstorable`` naming what and where (``context.a.b[3]``), instead of reaching the driver:

- PostgreSQL's jsonb rejects ``\\u0000`` in text, NaN and infinities; psycopg cannot encode lone surrogates;
- SQLite stores all of those as text, and ``show --json`` then prints what is not JSON;
- JSON nested thousands deep makes ``json.dumps``/``json.loads`` (and so every reader) hit RecursionError;
- an int beyond 64 bits is an OverflowError in sqlite3 (and breaks jsonb's consumers, which read doubles);
- an integer column is ``INTEGER``: 32 bits on PostgreSQL, so 0..2**31-1 is what both backends hold.

The checker is iterative (an explicit stack): a value nested 100,000 deep is refused, not a RecursionError.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from batchctl import words
from batchctl.errors import Unstorable

MAX_DEPTH = 64  # objects and lists nested in one another; far more than any context or result needs
MAX_JSON_INT = 2**63 - 1  # what sqlite3 binds and what a 64-bit reader of the JSON gets back exactly
MAX_INT_COLUMN = 2**31 - 1  # sa.Integer: int4 on PostgreSQL

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


Trail = tuple[Any, "str | int"] | None  # (the parent's trail, this key or index); the path is built on error only


def check_json(value: Any, what: str) -> None:
    """Raise ``Unstorable`` unless ``value`` is JSON that both databases store and give back unchanged."""
    stack: list[tuple[Any, int, Trail]] = [(value, 0, None)]
    while stack:
        item, depth, trail = stack.pop()
        kind = type(item)
        if kind is str or (kind is not bool and isinstance(item, str)):
            if "\x00" in item or not item.isascii():
                problem = _text_problem(item)
                if problem:
                    raise Unstorable(f"cannot store {path_of(what, trail)}: {problem}")
        elif item is None or kind is bool:
            continue
        elif kind is int or isinstance(item, int):
            if not -MAX_JSON_INT <= item <= MAX_JSON_INT:
                where = path_of(what, trail)
                raise Unstorable(f"cannot store {where}: {_int_shown(item)} is beyond the 64-bit range ±(2**63-1)")
        elif kind is float or isinstance(item, float):
            if not math.isfinite(item):
                where = path_of(what, trail)
                raise Unstorable(f"cannot store {where}: {item!r} is not a finite number (JSON has no NaN or infinity)")
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                raise Unstorable(f"cannot store {path_of(what, trail)}: nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if type(key) is not str and not isinstance(key, str):
                        raise Unstorable(
                            f"cannot store {path_of(what, trail)}: key {_shown(key)} is {words.a_type(key)}; "
                            "JSON keys are strings"
                        )
                    if "\x00" in key or not key.isascii():
                        problem = _text_problem(key)
                        if problem:
                            raise Unstorable(f"cannot store {path_of(what, trail)} (a key): {problem}")
                    stack.append((child, depth + 1, (trail, key)))
            else:
                stack.extend((child, depth + 1, (trail, index)) for index, child in enumerate(item))
        else:
            raise Unstorable(
                f"cannot store {path_of(what, trail)}: {words.a_type(item)} is not a JSON value "
                "(use objects, lists, strings, numbers, true, false or null)"
            )


def path_of(what: str, trail: Trail) -> str:
    """``what.a.b[3]``: where a value sits, from its trail of keys and indexes."""
    steps: list[str | int] = []
    while trail is not None:
        trail, step = trail
        steps.append(step)
    path = what
    for step in reversed(steps):
        path = f"{path}[{step}]" if isinstance(step, int) else child_path(path, step)
    return _short(path)


def check_int_column(value: Any, what: str) -> None:
    """Raise ``Unstorable`` unless ``value`` (None, or an int) fits an integer column on both backends."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unstorable(f"cannot store {what}: {_shown(value)} is {words.a_type(value)}, not a whole number")
    if not 0 <= value <= MAX_INT_COLUMN:
        raise Unstorable(f"cannot store {what}: {_int_shown(value)} is outside 0..{MAX_INT_COLUMN}")


def safe_text(text: str) -> str:
    """``text`` with what no database stores (NUL, lone surrogates) escaped, for error messages."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if not text.isascii():
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def child_path(path: str, key: str) -> str:
    """``path.key``, or ``path["odd key"]`` (escaped, shortened) when the key is not a plain name."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key[:60])}]"


def _text_problem(text: str) -> str | None:
    """What no database stores in ``text`` (NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "text with a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"text with a lone surrogate (\\u{ord(text[error.start]):04x}), not UTF-8"
    return None


def _short(path: str) -> str:
    # A path 64 levels deep is mostly [0][0]…; its start and end say where.
    return path if len(path) <= 100 else f"{path[:60]}...{path[-30:]}"


def _int_shown(value: int) -> str:
    # str() of an int of more than 4,300 digits raises ValueError; say how big it is instead.
    return str(value) if value.bit_length() <= 128 else f"an integer of {value.bit_length()} bits"


def _shown(value: Any) -> str:
    try:
        shown = ascii(value)
    except Exception:  # a broken __repr__ must not hide the real problem
        shown = f"<{type(value).__name__}>"
    return shown if len(shown) <= 60 else shown[:57] + "..."
