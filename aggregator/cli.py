"""`giamsat`: the aggregator's command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.config import ConfigError
from aggregator import areas, auth, broker, db, probes, settings
from aggregator.auth import TokenError
from aggregator.db import DatabaseError
from aggregator.probes import RegistryError

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> settings.Settings:
    return settings.load(args.config)


def cmd_db_init(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    areas_found = areas.load_areas(cfg.compliance.areas_dir)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        applied = db.migrate(conn)
        cells = areas.sync(conn, areas_found)
    print("migrations applied: " + (", ".join(applied) if applied else "none (up to date)"))
    print(f"areas: {len(areas_found)} from {cfg.compliance.areas_dir} ({cells} H3 cells)")
    return 0


def cmd_db_prune(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    days = args.keep_days or cfg.compliance.raw_retention_days
    with db.connect(cfg.dsn, autocommit=True) as conn:
        dropped = db.prune_raw(conn, days)
    print(f"raw records older than {days} days: {len(dropped)} chunk(s) dropped; rollups kept")
    return 0


def cmd_areas_sync(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    found = areas.load_areas(cfg.compliance.areas_dir)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        cells = areas.sync(conn, found)
    for area in found.values():
        print(f"{area.id:<12} {area.level:<9} {area.name}")
    print(f"{len(found)} areas, {cells} H3 cells")
    return 0


def cmd_compliance(args: argparse.Namespace) -> int:
    from datetime import date

    from aggregator import assess
    from aggregator.compliance import (
        Period,
        load_operators,
        load_standards,
        render_table,
        to_csv,
        to_json,
    )

    cfg = _settings(args)
    standards = load_standards(cfg.compliance.standards_dir)
    operators = load_operators(cfg.compliance.operators_file)
    if args.standard not in standards:
        raise ConfigError("--standard", args.standard, f"unknown; one of {', '.join(standards)}")
    if args.operator not in operators:
        raise ConfigError("--operator", args.operator, f"unknown; one of {', '.join(operators)}")
    try:
        period = Period(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to))
    except ValueError as exc:
        raise ConfigError("--from/--to", f"{args.date_from}..{args.date_to}", str(exc)) from None
    with db.connect(cfg.dsn, autocommit=True) as conn:
        name = conn.execute("SELECT name FROM areas WHERE id = %s", (args.area,)).fetchone()
        result = assess.assess(
            conn, standards[args.standard], operators[args.operator], args.area, period,
            area_name=name[0] if name else args.area,
        )  # fmt: skip
    if args.format == "json":
        print(to_json(result))
    elif args.format == "csv":
        print(to_csv([result]), end="")
    else:
        print(render_table(result))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from aggregator.serve import serve

    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        db.check_timescaledb(conn)
    if not args.no_api:
        print(f"giamsat: API on {cfg.api.url}", flush=True)
    asyncio.run(serve(cfg, with_ingest=not args.no_ingest, with_api=not args.no_api))
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    args.no_api, args.no_ingest = True, False
    return cmd_serve(args)


def _refresh_broker(cfg: settings.Settings, conn) -> None:  # type: ignore[no-untyped-def]
    """Rewrite passwd/acl where the broker reads them and ask it to reload."""
    if cfg.broker.config_dir:
        broker.write_files(conn, Path(cfg.broker.config_dir), topic_prefix=cfg.broker.topic_prefix)
        broker.reload(cfg.broker.reload_command)


def cmd_probes_add(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        probes.add(conn, args.probe_id, args.pubkey, kind=args.kind, village=args.village)
        password = (
            None if args.no_broker_account else broker.add_account(conn, args.probe_id, "probe")
        )
        if password:
            _refresh_broker(cfg, conn)
    print(f"probe {args.probe_id} registered")
    if password:
        _hand_over_password(args.probe_id, password, args.password_file)
    return 0


def _hand_over_password(username: str, password: str, path: str | None) -> None:
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        print(f"broker username {username}; password written to {path} (mode 0600)")
    else:
        print(f"broker username {username}, password {password}")
        print("  (shown once: put it in the probe's [broker] password_file)")


def cmd_probes_list(args: argparse.Namespace) -> int:
    cfg = _settings(args)
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


def cmd_probes_revoke(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        probes.revoke(conn, args.probe_id)
        broker.remove_account(conn, args.probe_id)
        _refresh_broker(cfg, conn)
    print(f"probe {args.probe_id} revoked: its records are refused from now on")
    return 0


def cmd_deadletter_list(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    query = "SELECT id, received_at, reason, topic, detail, payload FROM deadletter"
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


def cmd_broker_account(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        password = broker.add_account(conn, args.username, "ingest")
        _refresh_broker(cfg, conn)
    _hand_over_password(args.username, password, args.password_file)
    return 0


def cmd_broker_config(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("giamsat: error: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        tls = broker.TlsListener(args.tls_port, args.tls_cert, args.tls_key, args.tls_ca or "")
    with db.connect(cfg.dsn, autocommit=True) as conn:
        files = broker.write_files(
            conn, Path(args.out), port=args.port, bind=args.bind, tls=tls,
            topic_prefix=cfg.broker.topic_prefix, persistence_dir=args.persistence_dir,
        )  # fmt: skip
    for name, path in files.items():
        print(f"{name:<7} {path}")
    print(f"start with: mosquitto -c {files['conf']}  (reload accounts with SIGHUP)")
    return 0


def cmd_tokens_add(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        token = auth.create_token(conn, args.name, args.role)
    print(token if args.quiet else f"token {args.name} ({args.role}): {token}\n  (shown once)")
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        rows = auth.list_tokens(conn)
    for name, role, created, revoked in rows:
        status = f"revoked {revoked:%Y-%m-%d}" if revoked else "active"
        print(f"{name:<24} {role:<10} {created:%Y-%m-%d %H:%M}  {status}")
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        auth.revoke_token(conn, args.name)
    print(f"token {args.name} revoked")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="giamsat",
        description="giamsat aggregator: ingest probe records, store them in TimescaleDB, "
        "serve the API and the speed server.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help: str, parent=sub) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = parent.add_parser(name, help=help, description=help)
        p.add_argument("--config", "-c", help="aggregator TOML config (default: built-in defaults)")
        p.set_defaults(handler=handler)
        return p

    dbp = sub.add_parser("db", help="database schema", description="database schema")
    dbsub = dbp.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    command("init", cmd_db_init, "create or upgrade the schema, load the areas", dbsub)
    prune = command("prune", cmd_db_prune, "drop raw records past retention (drop_chunks)", dbsub)
    prune.add_argument("--keep-days", type=int, help="default: [compliance] raw_retention_days")

    ap = sub.add_parser("areas", help="administrative areas", description="administrative areas")
    asub = ap.add_subparsers(dest="areas_command", required=True, metavar="COMMAND")
    command("sync", cmd_areas_sync, "load the GeoJSON areas into the database", asub)

    comp = command("compliance", cmd_compliance, "verdicts of one operator against a standard")
    comp.add_argument("--standard", required=True, help="e.g. QCVN-126:2021/BTTTT")
    comp.add_argument("--operator", required=True, help="e.g. Viettel")
    comp.add_argument("--area", default="all", help="area id, an H3 cell, or all (default)")
    comp.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    comp.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
    comp.add_argument("--format", choices=("table", "json", "csv"), default="table")

    serve = command("serve", cmd_serve, "run ingest worker, HTTP API and speed server")
    serve.add_argument("--no-ingest", action="store_true", help="API only")
    serve.add_argument("--no-api", action="store_true", help="ingest only")
    command("ingest", cmd_ingest, "run one ingest worker (several share the subscription)")

    pp = sub.add_parser("probes", help="probe registry", description="probe registry")
    psub = pp.add_subparsers(dest="probes_command", required=True, metavar="COMMAND")
    add = command("add", cmd_probes_add, "register a probe and its public key", psub)
    add.add_argument("probe_id", help="the id the probe prints with `giamsat-agent identity`")
    add.add_argument("--pubkey", required=True, help="base64 Ed25519 public key of the probe")
    add.add_argument("--kind", choices=("fixed", "phone"), default="fixed")
    add.add_argument("--village", help="village or site name shown on maps")
    add.add_argument("--password-file", help="write the probe's broker password here")
    add.add_argument(
        "--no-broker-account", action="store_true", help="do not create a broker account"
    )
    lst = command("list", cmd_probes_list, "list registered probes", psub)
    lst.add_argument("--json", action="store_true", help="print JSON")
    rev = command("revoke", cmd_probes_revoke, "refuse a probe's records from now on", psub)
    rev.add_argument("probe_id")

    bp = sub.add_parser("broker", help="MQTT broker accounts and config")
    bsub = bp.add_subparsers(dest="broker_command", required=True, metavar="COMMAND")
    acc = command("account", cmd_broker_account, "create an ingest account for the broker", bsub)
    acc.add_argument("username")
    acc.add_argument("--password-file", help="write the password here instead of printing it")
    bc = command("config", cmd_broker_config, "write mosquitto.conf, passwd and acl", bsub)
    bc.add_argument("--out", required=True, help="directory for the generated files")
    bc.add_argument("--port", type=int, default=1883)
    bc.add_argument("--bind", default="0.0.0.0")
    bc.add_argument("--persistence-dir", default="/var/lib/mosquitto/")
    bc.add_argument("--tls-port", type=int, default=8883)
    bc.add_argument("--tls-cert", help="server certificate (PEM) for a TLS listener")
    bc.add_argument("--tls-key", help="its private key (PEM)")
    bc.add_argument("--tls-ca", help="CA bundle, for client certificates")

    tp = sub.add_parser("tokens", help="API tokens and roles")
    tsub = tp.add_subparsers(dest="tokens_command", required=True, metavar="COMMAND")
    ta = command("add", cmd_tokens_add, "create an API token (shown once)", tsub)
    ta.add_argument("name")
    ta.add_argument("--role", required=True, choices=auth.ROLES)
    ta.add_argument("--quiet", action="store_true", help="print only the token")
    command("list", cmd_tokens_list, "list API tokens", tsub)
    tr = command("revoke", cmd_tokens_revoke, "revoke an API token", tsub)
    tr.add_argument("name")

    dl = sub.add_parser("deadletter", help="rejected records", description="rejected records")
    dlsub = dl.add_subparsers(dest="dl_command", required=True, metavar="COMMAND")
    dll = command("list", cmd_deadletter_list, "show rejected payloads with their reason", dlsub)
    dll.add_argument("--reason", help="only this reason code")
    dll.add_argument("--limit", type=int, default=50)
    dll.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return args.handler(args)
    except (ConfigError, DatabaseError, RegistryError, TokenError) as exc:
        print(f"giamsat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
