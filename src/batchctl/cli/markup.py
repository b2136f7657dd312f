"""Text for people, without importing Rich: control characters made visible, user text escaped for Rich.

Everything a job carries (who created it, its context, a strategy's error messages, file and schedule
names) is data from someone else. Printed raw it could drive the terminal: ``ESC ]0;…BEL`` retitles the
window, ``ESC [2J`` clears it, a ``CR`` or a bidi override (U+202E) makes a line read as something it is
not, and the same bytes saved to a file attack whoever ``cat``s it later. ``terminal_safe`` shows every
such character as an escape (``\\x1b``, ``\\n``, ``\\u202e``) wherever human output is rendered, on a
terminal or not; JSON output is left exact (``json.dumps`` escapes control characters itself).
"""

from __future__ import annotations

import re
import unicodedata

# Invisible characters that reorder or hide text without being control characters (category Cc):
# bidi embeddings, overrides and isolates, marks, zero-width characters, line/paragraph separators.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2028\u2029\u2060\u2066\u2067\u2068\u2069\ufeff"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Rich's own tag pattern (rich.markup.RE_TAGS): a tag starts with a letter, '#', '/' or '@'.
_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
# What Rich would read as a tag, or as an escape: backslashes before a tag, or before any other '['.
_TAG_OR_ESCAPE = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])|(\\+)\[")
_TRAILING_BACKSLASHES = re.compile(r"\\+$")


def _unsafe(char: str) -> bool:
    # Cc: C0, DEL and C1; Cs: a lone surrogate (bytes that were not UTF-8), which no stream can encode.
    return char in _INVISIBLE or unicodedata.category(char) in ("Cc", "Cs")


def _shown(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: object) -> str:
    """``text`` with each control character (C0, DEL, C1) and invisible bidi/zero-width character as an escape."""
    value = str(text)
    if value.isprintable() and not any(char in _INVISIBLE for char in value):  # the common case, fast
        return value
    return "".join(_shown(char) if _unsafe(char) else char for char in value)


def esc(text: object) -> str:
    """User text made safe to embed in Rich markup: control characters shown, tags and backslashes escaped.

    Rich's ``escape`` rule (a backslash before a tag, backslashes before it doubled), one more backslash
    where Rich would eat one (``\\[`` shows as ``[``), and trailing backslashes doubled so that a value
    ending in ``\\`` cannot escape the tag that follows it.
    """
    value = _TAG_OR_ESCAPE.sub(_escaped, terminal_safe(text))
    return _TRAILING_BACKSLASHES.sub(lambda m: m.group(0) * 2, value)


def _escaped(match: re.Match[str]) -> str:
    if match[2] is not None:
        return f"{match[1]}{match[1]}\\{match[2]}"
    return f"{match[3]}\\["


def strip_markup(text: str) -> str:
    """What Rich would show for markup ``text``, without the styles (Rich's parser, mirrored)."""
    out: list[str] = []
    position = 0
    for match in _TAG.finditer(text):
        full, escapes, _tag = match.groups()
        start, end = match.span()
        if start > position:
            out.append(text[position:start].replace("\\[", "["))
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            out.append("\\" * backslashes)
            if escaped:
                out.append(full[len(escapes) :])
    out.append(text[position:].replace("\\[", "["))
    return "".join(out)
