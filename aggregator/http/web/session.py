"""Who is asking: a Bearer token (scripts) or the same token in a cookie (people).

A person cannot attach an ``Authorization`` header to a link, so ``/login``
takes the API token once and keeps it in a cookie that scripts cannot read
(HttpOnly), that no other site can make the browser send (SameSite=Strict)
and that travels only over HTTPS when the page was served over HTTPS. Tokens
are checked on every request exactly as the API checks them, so revoking a
token ends its browser sessions too.

Pages answer a missing or revoked token with a redirect to the login form;
API routes answer 401 as the rest of the API does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import RedirectResponse, Response

from giamsat.aggregator.store import tokens as auth
from giamsat.aggregator.store.tokens import Caller

COOKIE = "giamsat_token"
COOKIE_MAX_AGE_S = 12 * 3600  # one working day; then the person logs in again

_bearer = HTTPBearer(auto_error=False)


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to ``/login``."""

    def __init__(self, next_url: str, reason: str = "") -> None:
        super().__init__(reason or "login required")
        self.next_url = next_url
        self.reason = reason


def _token(request: Request, creds: HTTPAuthorizationCredentials | None) -> str | None:
    if creds is not None:
        return creds.credentials
    return request.cookies.get(COOKIE)


def _lookup(request: Request, token: str) -> Caller | None:
    with request.app.state.pool.connection() as conn:
        return auth.caller_for(conn, token)


def safe_next(url: str | None) -> str:
    """A local path to return to after login; anything pointing elsewhere becomes ``/map``."""
    if not url:
        return "/map"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/map"
    return url


def _here(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def page_caller(role: str) -> Callable[..., Caller]:
    """Dependency for pages: the caller, or a redirect to the login form."""

    def dependency(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        token = _token(request, creds)
        if token is None:
            raise LoginRequired(_here(request))
        caller = _lookup(request, token)
        if caller is None:
            raise LoginRequired(_here(request), "revoked")
        if not caller.may(role):
            raise HTTPException(403, f"this needs the {role} role; the token is {caller.role}")
        return caller

    return dependency


def api_caller(role: str) -> Callable[..., Caller]:
    """Dependency for API routes: Bearer header or login cookie, else 401/403."""

    def dependency(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        token = _token(request, creds)
        if token is None:
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        caller = _lookup(request, token)
        if caller is None:
            raise HTTPException(
                401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not caller.may(role):
            raise HTTPException(403, f"this needs the {role} role; the token is {caller.role}")
        return caller

    return dependency


def login_redirect(request: Request, exc: LoginRequired) -> Response:
    """Exception handler for :class:`LoginRequired`."""
    target = f"/login?next={quote(exc.next_url, safe='/')}"
    if exc.reason:
        target += f"&reason={quote(exc.reason)}"
    response = RedirectResponse(target, status_code=303)
    if exc.reason:
        response.delete_cookie(COOKIE, path="/")
    return response


def same_origin(request: Request) -> bool:
    """Whether a form post comes from our own pages (browsers send Origin on POST)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or one that sends no Origin: SameSite still applies
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_login_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
