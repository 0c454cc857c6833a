"""Free text in requests: what the API accepts in names, and what it refuses everywhere.

PostgreSQL text cannot hold NUL, so a NUL in any parameter that reached a
query (an area, an operator, a token name) made the database driver raise and
the API answer 500. No legitimate request carries one.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated
from urllib.parse import unquote_to_bytes

from fastapi.responses import JSONResponse
from pydantic import BeforeValidator
from starlette.types import ASGIApp, Receive, Scope, Send

# Free-text names in request bodies: no control characters (NUL least of all).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _not_a_number(value: object) -> object:
    """Refuse a number where a date or time is due: pydantic reads "0.5" as a Unix time."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date or time, such as 2026-11-22 or"
                         " 2026-11-22T00:00:00Z, not a number")  # fmt: skip
    return value


# Dates and times in queries and bodies: ISO 8601 text only.
IsoDate = Annotated[date, BeforeValidator(_not_a_number)]
IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]


class RefuseNul:
    """Answer 422 to a request whose path or query holds a NUL character.

    A plain ASGI wrapper, not BaseHTTPMiddleware, so speed-test streams pass
    untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope["query_string"])
        ):
            refusal = JSONResponse({"detail": "NUL characters are not allowed"}, status_code=422)
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
