"""The body of ``POST /admin/batch-jobs``, checked as Medusa's class-validator does, with its messages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from batchctl.errors import BadInput

CREATE_KEYS = ("type", "context", "dry_run")


@dataclass(frozen=True)
class CreateBody:
    """A valid create request."""

    type: str
    context: dict[str, Any]
    dry_run: bool


def parse_json(raw: bytes) -> Any:
    """The request body as JSON (an empty body is ``{}``); BadInput for malformed JSON, without echoing it."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f" at line {error.lineno} column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise BadInput(f"The request body is not valid JSON{where}") from None
    except RecursionError:
        raise BadInput("The request body is nested too deeply") from None


def _shown(key: str) -> str:
    return key if key.isprintable() and len(key) <= 100 else repr(key[:100])


def parse_create(raw: bytes) -> CreateBody:
    """Validate a create body; every failure named, joined by ``, ``."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise BadInput("The request body must be a JSON object")
    problems: list[str] = []
    batch_type = body.get("type")
    if not isinstance(batch_type, str) or not batch_type:
        problems.append("type must be a string")
    context = body.get("context")
    if not isinstance(context, dict):
        problems.append("context must be an object")
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append("dry_run must be a boolean value")
    problems += [f"property {_shown(key)} should not exist" for key in body if key not in CREATE_KEYS]
    if problems:
        raise BadInput(", ".join(problems))
    assert isinstance(batch_type, str) and isinstance(context, dict) and isinstance(dry_run, bool)
    return CreateBody(batch_type, context, dry_run)


def parse_credentials(raw: bytes) -> tuple[str, str]:
    """``{"email", "password"}`` of the sign-in routes."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise BadInput("The request body must be a JSON object")
    email, password = body.get("email"), body.get("password")
    problems = []
    if not isinstance(email, str) or "@" not in email:
        problems.append("email must be an email")
    if not isinstance(password, str):
        problems.append("password must be a string")
    problems += [f"property {_shown(key)} should not exist" for key in body if key not in ("email", "password")]
    if problems:
        raise BadInput(", ".join(problems))
    assert isinstance(email, str) and isinstance(password, str)
    return email, password
