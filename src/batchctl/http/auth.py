"""Who is calling: an API token (``x-medusa-access-token``), a JWT (``Authorization: Bearer``) or a session cookie.

Every credential is checked against the database on each request, so a removed user or a rotated token is
refused at once. JWTs and session cookies are signed with the users' signing secret and name the user
with its nonce. Failed tokens are throttled per client address, failed sign-ins per account and per address.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

import jwt
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from batchctl.errors import Unauthorized
from batchctl.http import schemas
from batchctl.http.body import parse_credentials
from batchctl.http.config import ServerConfig
from batchctl.http.errors import TooManyAttempts
from batchctl.http.throttle import Throttle
from batchctl.users import User, Users

SESSION_COOKIE = "batchctl_session"
_ALGORITHM = "HS256"


class Authenticator:
    """Checks credentials and issues JWTs and session cookies."""

    def __init__(self, users: Users, config: ServerConfig) -> None:
        self.users = users
        self.config = config
        self.token_failures = Throttle(config.token_failures_per_address, config.throttle_window)
        self.login_by_account = Throttle(config.login_failures_per_account, config.throttle_window)
        self.login_by_address = Throttle(config.login_failures_per_address, config.throttle_window)

    @cached_property
    def secret(self) -> bytes:
        """The signing key (generated once into the database unless BATCHCTL_JWT_SECRET is set)."""
        return self.users.signing_secret()

    def issue(self, user: User, kind: str) -> str:
        """A signed JWT for ``user`` (``kind``: access or session), valid for the session lifetime."""
        now = int(time.time())
        claims = {
            "sub": user.id,
            "nonce": user.nonce,
            "typ": kind,
            "iat": now,
            "exp": now + self.config.session_seconds,
        }
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def _from_jwt(self, token: str, kind: str) -> User | None:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.secret, algorithms=[_ALGORITHM], options={"require": ["sub", "exp", "iat"]}
            )
        except jwt.PyJWTError:
            return None
        if (
            claims.get("typ") != kind
            or not isinstance(claims.get("sub"), str)
            or not isinstance(claims.get("nonce"), str)
        ):
            return None
        return self.users.by_session(claims["sub"], claims["nonce"])

    def authenticate(self, request: Request) -> User:
        """The calling user, or Unauthorized (TooManyAttempts after too many bad tokens from this address)."""
        address = client_address(request)
        token = request.headers.get("x-medusa-access-token")
        bearer = request.headers.get("authorization")
        cookie = request.cookies.get(SESSION_COOKIE)
        if token is None and bearer is None and cookie is None:
            raise Unauthorized()
        wait = self.token_failures.retry_after(address)
        if wait:
            raise TooManyAttempts(f"Too many failed credentials from this address; try again in {round(wait)} s", wait)
        user: User | None
        if token is not None:
            user = self.users.by_token(token)
        elif bearer is not None:
            scheme, _, value = bearer.partition(" ")
            user = self._from_jwt(value.strip(), "access") if scheme.lower() == "bearer" else None
        else:
            user = self._from_jwt(str(cookie), "session")
        if user is None:
            self.token_failures.fail(address)
            raise Unauthorized()
        return user

    def sign_in(self, request: Request, raw: bytes) -> User:
        """The user these credentials name, throttled per account and per address; Unauthorized if wrong."""
        email, password = parse_credentials(raw)
        address, account = client_address(request), email.lower()
        wait = max(self.login_by_account.retry_after(account), self.login_by_address.retry_after(address))
        if wait:
            raise TooManyAttempts(f"Too many failed sign-ins; try again in {round(wait)} s", wait)
        user = self.users.by_password(email, password)
        if user is None:
            self.login_by_account.fail(account)
            self.login_by_address.fail(address)
            raise Unauthorized()
        return user


def client_address(request: Request) -> str:
    """The peer's address (uvicorn runs without proxy headers unless told: a client cannot choose this)."""
    return request.client.host if request.client else "unknown"


def authenticator(request: Request) -> Authenticator:
    """The app's Authenticator."""
    found: Authenticator = request.app.state.authenticator
    return found


def current_user(request: Request) -> User:
    """Dependency: the authenticated caller."""
    return authenticator(request).authenticate(request)


router = APIRouter(tags=["auth"])
_CREDENTIALS = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {"email": {"type": "string", "format": "email"}, "password": {"type": "string"}},
                    "additionalProperties": False,
                }
            }
        },
    }
}


def _user_response(user: User) -> dict[str, Any]:
    return {"user": user.to_json()}


@router.post(
    "/admin/auth/token",
    summary="Sign in for a JWT (Authorization: Bearer)",
    openapi_extra=_CREDENTIALS,
    responses={200: schemas.json_response("AccessToken"), **schemas.ERRORS},
)
async def token(request: Request) -> Response:
    """Exchange an email and password for a JWT to send as ``Authorization: Bearer``."""
    auth = authenticator(request)
    raw = await request.body()
    user = await _run(request, auth.sign_in, request, raw)
    return JSONResponse({"access_token": auth.issue(user, "access")})


@router.post(
    "/admin/auth",
    summary="Sign in with a session cookie (the Admin UI's way)",
    openapi_extra=_CREDENTIALS,
    responses={200: schemas.json_response("UserResponse"), **schemas.ERRORS},
)
async def sign_in(request: Request) -> Response:
    """Start a cookie session (HttpOnly, SameSite=Lax, signed)."""
    auth = authenticator(request)
    raw = await request.body()
    user = await _run(request, auth.sign_in, request, raw)
    response = JSONResponse(_user_response(user))
    response.set_cookie(
        SESSION_COOKIE,
        auth.issue(user, "session"),
        max_age=auth.config.session_seconds,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get(
    "/admin/auth",
    summary="The signed-in user",
    responses={200: schemas.json_response("UserResponse"), **schemas.ERRORS},
)
def session(user: User = Depends(current_user)) -> Response:  # noqa: B008  (FastAPI's dependency idiom)
    """The user of the current credential."""
    return JSONResponse(_user_response(user))


@router.delete(
    "/admin/auth",
    summary="Sign out (clear the session cookie)",
    responses={
        200: {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
        **schemas.ERRORS,
    },
)
def sign_out(user: User = Depends(current_user)) -> Response:  # noqa: B008
    """End the cookie session."""
    response = JSONResponse({})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


async def _run(request: Request, function: Any, *args: Any) -> Any:
    # scrypt takes ~50 ms: off the event loop.
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
