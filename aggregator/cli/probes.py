"""`giamsat probes add|list|revoke`: the registry of probes whose signed records are accepted."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.broker import hand_over_password, refresh_broker
from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.ingest import broker
from giamsat.aggregator.store import db, probes

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``probes add``, ``probes list`` and ``probes revoke``."""
    sub = group(
        subparsers, "probes", "probe registry", dest="probes_command", description="probe registry"
    )
    add = command(sub, "add", cmd_add, "register a probe and its public key")
    add.add_argument("probe_id", help="the id the probe prints with `giamsat-agent identity`")
    add.add_argument("--pubkey", required=True, help="base64 Ed25519 public key of the probe")
    add.add_argument("--kind", choices=("fixed", "phone"), default="fixed")
    add.add_argument("--village", help="village or site name shown on maps")
    add.add_argument("--password-file", help="write the probe's broker password here")
    add.add_argument(
        "--no-broker-account", action="store_true", help="do not create a broker account"
    )
    listed = command(sub, "list", cmd_list, "list registered probes")
    listed.add_argument("--json", action="store_true", help="print JSON")
    revoke = command(sub, "revoke", cmd_revoke, "refuse a probe's records from now on")
    revoke.add_argument("probe_id")


def cmd_add(args: argparse.Namespace) -> int:
    """Register the key and, unless told not to, the probe's broker account in one step."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        probes.add(conn, args.probe_id, args.pubkey, kind=args.kind, village=args.village)
        password = (
            None if args.no_broker_account else broker.add_account(conn, args.probe_id, "probe")
        )
        if password:
            refresh_broker(cfg, conn)
    print(f"probe {args.probe_id} registered")
    if password:
        hand_over_password(args.probe_id, password, args.password_file)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Every probe with its status, as a table or (``--json``) for scripts."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        rows = probes.list_all(conn)
    if args.json:
        print(json.dumps([p.__dict__ for p in rows], default=str, indent=2))
        return 0
    print(f"{'probe':<24} {'kind':<6} {'registered':<20} {'status':<8} village")
    for p in rows:
        status = "revoked" if p.revoked_at else "active"
        registered = p.registered_at.strftime("%Y-%m-%d %H:%M")
        print(f"{p.id:<24} {p.kind:<6} {registered:<20} {status:<8} {p.village or ''}")
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    """Refuse the probe's records and remove its broker account, so it can publish no more."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        probes.revoke(conn, args.probe_id)
        broker.remove_account(conn, args.probe_id)
        refresh_broker(cfg, conn)
    print(f"probe {args.probe_id} revoked: its records are refused from now on")
    return 0
