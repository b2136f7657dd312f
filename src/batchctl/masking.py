"""Secrets kept out of everything batchctl prints: one URL parser, one URL mask, one text mask.

A password in a URL may hold any character, ``/ @ % : # ?`` included, raw or percent-encoded. The one
rule used everywhere: the userinfo ends at the LAST ``@`` of the URL (a password may hold ``@`` and
``/``, a host never holds ``@``), and its password starts after the first ``:``. An ``@`` after the host
(in a query) must therefore be percent-encoded (``%40``); a raw one makes more of the URL look like
userinfo, which masks too much rather than too little.

``driver_url`` hands the drivers the same URL with the userinfo percent-encoded, so that libpq and
redis-py read the very password this module masks: a raw ``@`` or ``/`` in it can no longer make a
driver take part of the password for a host name and print it in its error.

``mask_text`` is the last line: every string batchctl prints on a terminal or stderr goes through it,
and it removes each known secret (the raw, percent-decoded and percent-encoded forms of each configured
URL's password, ``BATCHCTL_JWT_SECRET``, secrets the process was handed) and masks any URL in the text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote, unquote

MASK = "***"
# Secrets shorter than this are masked inside URLs only: hunting a two-letter password in free text would
# replace it in every word that holds those letters, and drivers given driver_url() never echo it.
MIN_SECRET_LENGTH = 3
# Environment variables whose values are URLs that may carry a password.
URL_VARIABLES = ("BATCHCTL_DATABASE_URL", "BATCHCTL_REDIS_URL")
SECRET_VARIABLES = ("BATCHCTL_JWT_SECRET",)

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# A URL inside free text: up to white space or a quote (a password with a space is caught as a known secret).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*")
_PASSWORD_IN_QUERY = re.compile(r"(?i)(?P<key>[?&](?:password|pass|pwd)=)[^&#\s'\"]*")

_remembered: set[str] = set()


class UrlParts(NamedTuple):
    """A URL split at its userinfo: ``scheme://``, the user, the password as written (or None), the rest."""

    scheme: str
    user: str | None
    password: str | None
    rest: str


def split_url(url: str) -> UrlParts | None:
    """The URL's parts by the last-``@`` rule, or None when ``url`` does not start with ``scheme://``."""
    match = _SCHEME.match(url)
    if match is None:
        return None
    after = url[match.end() :]
    userinfo, at, rest = after.rpartition("@")
    if not at:
        return UrlParts(match.group(0), None, None, after)
    user, colon, password = userinfo.partition(":")
    return UrlParts(match.group(0), user, password if colon else None, rest)


def mask_url(url: str) -> str:
    """``url`` with its password (and a ``password=`` query value) replaced by ``***``: safe to print."""
    parts = split_url(url)
    if parts is not None and parts.password is not None:
        url = f"{parts.scheme}{parts.user}:{MASK}@{parts.rest}"
    return _PASSWORD_IN_QUERY.sub(lambda m: f"{m['key']}{MASK}", url)


def driver_url(url: str) -> str:
    """``url`` with user and password percent-encoded, so every driver reads the userinfo as this module does."""
    parts = split_url(url)
    if parts is None or parts.user is None:
        return url
    userinfo = quote(unquote(parts.user), safe="")
    if parts.password is not None:
        userinfo += ":" + quote(unquote(parts.password), safe="")
    return f"{parts.scheme}{userinfo}@{parts.rest}"


def password_of(url: str) -> str | None:
    """The URL's password, percent-decoded, or None."""
    parts = split_url(url)
    return unquote(parts.password) if parts is not None and parts.password is not None else None


def url_secrets(url: str) -> set[str]:
    """Every spelling of the URL's password that could be printed: as written, decoded, re-encoded."""
    parts = split_url(url)
    if parts is None or not parts.password:
        return set()
    decoded = unquote(parts.password)
    return {parts.password, decoded, quote(decoded, safe=""), quote(decoded)} - {""}


def remember(secret: str | None) -> None:
    """Add a secret this process holds (a webhook secret read from stdin) to those masked."""
    if secret:
        _remembered.add(secret)


def remember_url(url: str | None) -> None:
    """Add the password of a URL this process was given in code (``connect(database_url=…)``) to those masked."""
    if url:
        _remembered.update(url_secrets(url))


def known_secrets() -> set[str]:
    """The secrets this process knows of: the configured URLs' passwords, BATCHCTL_JWT_SECRET, remembered ones."""
    found = set(_remembered)
    for name in URL_VARIABLES:
        found.update(url_secrets(os.environ.get(name) or ""))
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value:
            found.add(value)
    return found


def mask_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` without any secret: each URL in it masked, each known secret (or ``secrets``) replaced by ``***``."""
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
    chosen = known_secrets() if secrets is None else set(secrets)
    # As written, and as repr() shows it (an error quoting a value with !r escapes its control characters).
    chosen |= {repr(secret)[1:-1] for secret in chosen}
    # Longest first, so that a secret containing another is removed whole.
    for secret in sorted(chosen, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH and secret != MASK:
            text = text.replace(secret, MASK)
    return text
