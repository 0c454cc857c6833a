"""``/api/v1/tokens``: API tokens and their roles (admin); a secret is shown only once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from giamsat.aggregator.http.auth import Admin
from giamsat.aggregator.http.text import PLAIN_TEXT
from giamsat.aggregator.store import tokens

router = APIRouter()


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=PLAIN_TEXT)
    role: str = Field(pattern="^(viewer|inspector|admin|operator)$")
    operator: str | None = Field(
        None, min_length=1, max_length=100, pattern=PLAIN_TEXT,
        description="the company of an operator token, which sees only its own cases",
    )  # fmt: skip


@router.get("/api/v1/tokens")
def token_list(caller: Admin, request: Request) -> list[dict[str, Any]]:
    """API tokens, without their secrets (admin)."""
    with request.app.state.pool.connection() as conn:
        rows = tokens.list_tokens(conn)
    keys = ("name", "role", "created_at", "revoked_at", "operator")
    return [dict(zip(keys, row, strict=True)) for row in rows]


@router.post("/api/v1/tokens", status_code=201)
def token_create(caller: Admin, request: Request, body: TokenIn) -> dict[str, str]:
    """Create a token; the response is the only time it is shown (admin)."""
    with request.app.state.pool.connection() as conn:
        try:
            token = tokens.create_token(conn, body.name, body.role, body.operator)
        except tokens.TokenError as exc:
            raise HTTPException(409, str(exc)) from None
        detail = {"name": body.name, "role": body.role, "operator": body.operator}
        tokens.audit(conn, caller, "tokens.create", detail)
    return {"name": body.name, "role": body.role, "token": token}


@router.delete("/api/v1/tokens/{name}")
def token_revoke(caller: Admin, request: Request, name: str) -> dict[str, str]:
    """Revoke a token (admin)."""
    with request.app.state.pool.connection() as conn:
        try:
            tokens.revoke_token(conn, name)
        except tokens.TokenError as exc:
            raise HTTPException(404, str(exc)) from None
        tokens.audit(conn, caller, "tokens.revoke", {"name": name})
    return {"name": name, "status": "revoked"}
