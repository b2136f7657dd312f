"""``batchctl users``: the Admin API's users, their passwords and API tokens (shown once, stored as hashes)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli import render
from batchctl.cli.runtime import client, creating_client
from batchctl.errors import BadInput

if TYPE_CHECKING:
    from batchctl.users import Users

users_app = typer.Typer(help="Users of the Admin HTTP API (`batchctl serve`) and their tokens.", no_args_is_help=True)
Name = Annotated[str, typer.Argument(metavar="NAME", help="The user name (what jobs show as created_by).")]


def _users(*, creating: bool = False) -> Users:
    from batchctl.users import Users

    return Users((creating_client() if creating else client()).runtime)


def _password_from_stdin() -> str:
    # One line: what `echo "$PASSWORD" | batchctl users add …` or a password manager pipes in.
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise BadInput("--password-stdin: no password on standard input")
    return password


def _print_token(token: str, note: str) -> None:
    print(token)
    render.warn(note)


@users_app.command("add")
def users_add(
    name: Name,
    email: Annotated[str | None, typer.Option("--email", help="Sign-in email for POST /admin/auth.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a sign-in password from standard input.")
    ] = False,
) -> None:
    """Add a user and print its API token (shown this once; only its hash is stored).

    Example: echo "$PASSWORD" | batchctl users add alice --email alice@example.com --password-stdin
    """
    if password_stdin and email is None:
        raise BadInput("--password-stdin needs --email: the password signs in with the email")
    password = _password_from_stdin() if password_stdin else None
    _, token = _users(creating=True).add(name, email=email, password=password)
    _print_token(token, f"the API token of {name}; it is not shown again (send it as x-medusa-access-token)")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the users (never their tokens or password hashes).

    Example: batchctl users list --json
    """
    found = _users().list()
    if as_json:
        render.emit_json({"users": [user.to_json() for user in found]})
        return
    render.emit_table(
        ["NAME", "EMAIL", "PASSWORD", "TOKEN", "CREATED"],
        [
            [u.id, u.email or "", "yes" if u.has_password else "no", "yes" if u.has_token else "no", str(u.created_at)]
            for u in found
        ],
    )


@users_app.command("token")
def users_token(
    name: Name,
    rotate: Annotated[bool, typer.Option("--rotate", help="Issue a new token; the old one stops working.")] = False,
) -> None:
    """Issue a new API token for NAME (the old one stops working at once).

    Example: batchctl users token alice --rotate
    """
    if not rotate:
        raise BadInput("tokens are stored only as hashes and cannot be shown again; pass --rotate to issue a new one")
    token = _users().rotate_token(name)
    _print_token(token, f"the new API token of {name}; the old one no longer works and this one is not shown again")


@users_app.command("remove")
def users_remove(name: Name) -> None:
    """Remove a user: its token, password and sessions stop working at once (its jobs stay).

    Example: batchctl users remove alice
    """
    _users().remove(name)
    render.emit_line(f"removed user {name}")


def register(app: typer.Typer) -> None:
    """Add the ``users`` group to ``app``."""
    app.add_typer(users_app, name="users")
