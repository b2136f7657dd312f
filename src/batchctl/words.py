"""Counts and kinds in messages, in plain English: "1 job", "2 jobs", "a whole number", "an int".

One place, so every message says "deleted 1 job and 2 files" rather than "1 jobs", and a type is named
with its article ("an int", "a list") rather than "a int".
"""

from __future__ import annotations

# What a person typing a value calls Python's number types.
_KINDS = {int: "whole number", float: "number"}


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number: ``count(1, "job")`` is "1 job", ``count(2, "job")`` "2 jobs"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def kind(of: type) -> str:
    """The kind of number a person means by ``of``: "whole number" for int, "number" for float."""
    return _KINDS.get(of, of.__name__)


def a(noun: str) -> str:
    """``noun`` with its indefinite article: "an int", "a list", "an OrderedDict"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' and noun else 'a'} {noun}"


def a_type(value: object) -> str:
    """The Python type of ``value`` with its article, for a message: "an int", "a bytes"."""
    return a(type(value).__name__)
