"""`giamsat deadletter list`: records ingest refused, with the reason, for diagnosis."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.store import db

if TYPE_CHECKING:
    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``deadletter list``."""
    sub = group(
        subparsers,
        "deadletter",
        "rejected records",
        dest="dl_command",
        description="rejected records",
    )
    listed = command(sub, "list", cmd_list, "show rejected payloads with their reason")
    listed.add_argument("--reason", help="only this reason code")
    listed.add_argument("--limit", type=int, default=50)
    listed.add_argument("--json", action="store_true", help="print JSON")


def cmd_list(args: argparse.Namespace) -> int:
    """The newest rejections first; ``--json`` adds each payload (its first 4 KiB) as received,
    with the whole payload's size and SHA-256."""
    cfg = load_settings(args)
    query = (
        "SELECT id, received_at, reason, topic, detail, payload, payload_bytes, payload_sha256"
        " FROM deadletter"
    )
    params: list[object] = []
    if args.reason:
        query += " WHERE reason = %s"
        params.append(args.reason)
    query += " ORDER BY id DESC LIMIT %s"
    params.append(args.limit)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        rows = conn.execute(query, params).fetchall()
    if args.json:
        out = [
            {
                "id": r[0],
                "received_at": r[1].isoformat(),
                "reason": r[2],
                "topic": r[3],
                "detail": r[4],
                "payload": bytes(r[5]).decode("utf-8", "replace"),
                "payload_bytes": r[6],
                "payload_sha256": r[7],
                "truncated": len(bytes(r[5])) < r[6],
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        print(f"{r[0]:>6} {r[1]:%Y-%m-%d %H:%M:%S} {r[2]:<18} {r[3] or '-'}  {r[4]}")
    if not rows:
        print("dead-letter table is empty")
    return 0
