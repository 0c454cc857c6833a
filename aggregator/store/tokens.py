"""API tokens with roles, and the audit log of who downloaded what.

Staff roles are ordered: ``viewer`` sees maps and aggregates, ``inspector``
also raw records and evidence, ``admin`` also probes and tokens. ``operator``
stands apart: a token of an operator's staff, bound to that company, which
sees and answers only the company's own cases. Tokens are 256-bit
random strings stored only as SHA-256 digests: a high-entropy secret needs no
slow hash, and a stolen table reveals no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

ROLES = ("viewer", "inspector", "admin")
OPERATOR = "operator"
PREFIX = "gs_"


class TokenError(ValueError):
    """A token request that cannot be carried out."""


@dataclass(frozen=True)
class Caller:
    name: str
    role: str
    operator: str | None = None  # the company of an operator's token

    def may(self, role: str) -> bool:
        if OPERATOR in (self.role, role):
            return self.role == role
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees_operator(self, operator: str) -> bool:
        """Whether this caller may see a case or file of ``operator``."""
        return self.role != OPERATOR or self.operator == operator


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    conn: psycopg.Connection, name: str, role: str, operator: str | None = None
) -> str:
    """Create a token and return it; it is shown once and never stored in clear.

    ``operator`` names the company of an ``operator`` token, and only of one.
    """
    if role not in (*ROLES, OPERATOR):
        raise TokenError(f"role must be one of {', '.join((*ROLES, OPERATOR))}, not {role!r}")
    if (role == OPERATOR) != bool(operator):
        raise TokenError("an operator token names its company (--operator), and only it does")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        conn.execute(
            "INSERT INTO api_tokens (name, role, token_hash, operator) VALUES (%s, %s, %s, %s)",
            (name, role, digest(token), operator or None),
        )
    except psycopg.errors.UniqueViolation:
        raise TokenError(
            f"a token named {name!r} exists; revoke it or choose another name"
        ) from None
    return token


def revoke_token(conn: psycopg.Connection, name: str) -> None:
    cur = conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL", (name,)
    )
    if cur.rowcount == 0:
        raise TokenError(f"no active token named {name!r}")


def list_tokens(conn: psycopg.Connection) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT name, role, created_at, revoked_at, operator FROM api_tokens ORDER BY name"
    ).fetchall()


def caller_for(conn: psycopg.Connection, token: str) -> Caller | None:
    row = conn.execute(
        "SELECT name, role, operator FROM api_tokens WHERE token_hash = %s AND revoked_at IS NULL",
        (digest(token),),
    ).fetchone()
    return Caller(*row) if row else None


def audit(conn: psycopg.Connection, caller: Caller, action: str, detail: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO audit_log (who, role, action, detail) VALUES (%s, %s, %s, %s)",
        (caller.name, caller.role, action, Jsonb(detail)),
    )
