"""Rich markup without importing Rich: escaping user text, and removing tags for plain output."""

from __future__ import annotations

import re

# Rich tags look like [bold], [red], [/], [/bold]; an escaped bracket is \[.
_TAG = re.compile(r"(?<!\\)\[/?(?:[a-z]+(?: [a-z]+)*)?\]")


def esc(text: object) -> str:
    """User text made safe to embed in markup (Rich's own escape: a backslash before '[')."""
    return str(text).replace("[", "\\[")


def strip_markup(text: str) -> str:
    """``text`` without Rich style tags, escaped brackets restored."""
    return _TAG.sub("", text).replace("\\[", "[")
