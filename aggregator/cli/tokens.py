"""`giamsat tokens add|list|revoke`: the API's bearer tokens and their roles."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.store import db
from giamsat.aggregator.store import tokens as auth

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``tokens add``, ``tokens list`` and ``tokens revoke``."""
    sub = group(subparsers, "tokens", "API tokens and roles", dest="tokens_command")
    add = command(sub, "add", cmd_add, "create an API token (shown once)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=(*auth.ROLES, auth.OPERATOR))
    add.add_argument(
        "--operator", help="the company of an operator token (e.g. Viettel): its cases only"
    )
    add.add_argument("--quiet", action="store_true", help="print only the token")
    command(sub, "list", cmd_list, "list API tokens")
    revoke = command(sub, "revoke", cmd_revoke, "revoke an API token")
    revoke.add_argument("name")


def cmd_add(args: argparse.Namespace) -> int:
    """Print the new token once (only its hash is kept); ``--quiet`` prints it alone for scripts."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        token = auth.create_token(conn, args.name, args.role, args.operator)
    role = f"{args.role}, {args.operator}" if args.operator else args.role
    print(token if args.quiet else f"token {args.name} ({role}): {token}\n  (shown once)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Every token by name, with its role and whether it still works; never the token itself."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        rows = auth.list_tokens(conn)
    for name, role, created, revoked, operator in rows:
        status = f"revoked {revoked:%Y-%m-%d}" if revoked else "active"
        company = f"  ({operator})" if operator else ""
        print(f"{name:<24} {role:<10} {created:%Y-%m-%d %H:%M}  {status}{company}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Stop a token working from now on; it stays listed, as revoked."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        auth.revoke_token(conn, args.name)
    print(f"token {args.name} revoked")
    return 0
