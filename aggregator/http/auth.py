"""Who is asking, and may they: one dependency for every route and page.

A script sends its API token as a Bearer header; a person signs in once and
the same token travels in a cookie.

A person cannot attach an ``Authorization`` header to a link, so ``/login``
takes the API token once and keeps it in a cookie that scripts cannot read
(HttpOnly), that no other site can make the browser send (SameSite=Strict)
and that travels only over HTTPS when the page was served over HTTPS. Tokens
are checked on every request exactly as the API checks them, so revoking a
token ends its browser sessions too.

Routes state the least role they need with :data:`Viewer`, :data:`Inspector`
or :data:`Admin` (an operator's token has none of them: it reaches only the
routes of :data:`CaseReader` and :data:`CaseAnswerer`, for its own company's
cases); pages use :data:`PageViewer`, which answers a missing or
revoked token with a redirect to the login form instead of 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import RedirectResponse, Response

from giamsat.aggregator.store import tokens
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


def require(*roles: str, page: bool = False) -> Callable[..., Caller]:
    """The dependency every route states its least role with (any one of ``roles``).

    The token comes from the ``Authorization: Bearer`` header or the login
    cookie. Without a valid one, an API route answers 401 and a page
    (``page=True``) redirects to the login form; a token of a lesser role
    gets 403 either way.
    """

    def dependency(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        token = creds.credentials if creds is not None else request.cookies.get(COOKIE)
        if token is None:
            if page:
                raise LoginRequired(_here(request))
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        with request.app.state.pool.connection() as conn:
            caller = tokens.caller_for(conn, token)
        if caller is None:
            if page:
                raise LoginRequired(_here(request), "revoked")
            raise HTTPException(
                401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not any(caller.may(role) for role in roles):
            needed = " or ".join(roles)
            raise HTTPException(403, f"this needs the {needed} role; the token is {caller.role}")
        return caller

    return dependency


Viewer = Annotated[Caller, Depends(require("viewer"))]
Inspector = Annotated[Caller, Depends(require("inspector"))]
Admin = Annotated[Caller, Depends(require("admin"))]
PageViewer = Annotated[Caller, Depends(require("viewer", page=True))]
# Cases: the regulator's staff, and an operator's staff for the company's own cases.
CaseReader = Annotated[Caller, Depends(require("viewer", "operator"))]
CaseAnswerer = Annotated[Caller, Depends(require("inspector", "operator"))]


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
