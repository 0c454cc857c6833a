"""`giamsat`: the aggregator's command line."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from giamsat.aggregator import settings
from giamsat.aggregator.compliance import cases
from giamsat.aggregator.ingest import broker
from giamsat.aggregator.store import areas, db, probes
from giamsat.aggregator.store import tokens as auth
from giamsat.aggregator.store.db import DatabaseError
from giamsat.aggregator.store.probes import RegistryError
from giamsat.aggregator.store.tokens import TokenError
from giamsat.contract import logs
from giamsat.contract.config import ConfigError

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


def _period(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from giamsat.aggregator.compliance import Period

    try:
        return Period(date.fromisoformat(args.date_from), date.fromisoformat(args.date_to))
    except ValueError as exc:
        raise ConfigError("--from/--to", f"{args.date_from}..{args.date_to}", str(exc)) from None


def _standard_and_operator(cfg: settings.Settings, standard_id: str, operator: str):  # type: ignore[no-untyped-def]
    from giamsat.aggregator.compliance import load_operators, load_standards

    standards = load_standards(cfg.compliance.standards_dir)
    operators = load_operators(cfg.compliance.operators_file)
    if standard_id not in standards:
        raise ConfigError("--standard", standard_id, f"unknown; one of {', '.join(standards)}")
    if operator not in operators:
        raise ConfigError("--operator", operator, f"unknown; one of {', '.join(operators)}")
    return standards[standard_id], operators[operator]


def _assess(cfg, conn, standard, operator, area: str, period):  # type: ignore[no-untyped-def]
    from giamsat.aggregator.compliance import assess

    name = conn.execute("SELECT name FROM areas WHERE id = %s", (area,)).fetchone()
    return assess.assess(
        conn, standard, operator, areas.resolve(conn, area), period,
        area_name=name[0] if name else area,
    )  # fmt: skip


def cmd_compliance(args: argparse.Namespace) -> int:
    from giamsat.aggregator.compliance import render_table, to_csv, to_json

    cfg = _settings(args)
    standard, operator = _standard_and_operator(cfg, args.standard, args.operator)
    period = _period(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        result = _assess(cfg, conn, standard, operator, args.area, period)
    if args.format == "json":
        print(to_json(result))
    elif args.format == "csv":
        print(to_csv([result]), end="")
    else:
        print(render_table(result))
    return 0


def _policy(cfg: settings.Settings):  # type: ignore[no-untyped-def]
    from giamsat.aggregator.compliance import Policy

    c = cfg.compliance
    return Policy(c.grace_1_days, c.grace_2_days, c.notices_need_evidence)


def _print_case(stored: cases.StoredCase, policy) -> None:  # type: ignore[no-untyped-def]
    from giamsat.aggregator.compliance import next_due

    case = stored.case
    due = next_due(case, policy)
    print(f"case {stored.id}: {case.id}")
    print(f"  state: {case.state.value}   opened {case.opened_on}   next step from: {due or '-'}")
    for entry in case.history:
        v = entry.verdict
        finding = (
            f"{v.verdict.value} {v.value:.2f} [{v.ci_low:.2f}, {v.ci_high:.2f}] {v.unit} "
            f"({v.period_start}..{v.period_end}, {v.grade})"
            if v is not None and v.value is not None and v.ci_low is not None
            else "-"
        )
        source = entry.from_state.value if entry.from_state else "-"
        print(f"  {entry.on}  {source:>20} -> {entry.to_state.value:<20} {finding}  {entry.note}")


def cmd_cases_open(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    standard, operator = _standard_and_operator(cfg, args.standard, args.operator)
    on = date.fromisoformat(args.on) if args.on else date.today()
    with db.connect(cfg.dsn, autocommit=True) as conn:
        result = _assess(cfg, conn, standard, operator, args.area, _period(args))
        opened = cases.open_failing(conn, result, on)
    for stored in opened:
        _print_case(stored, _policy(cfg))
    print(f"{len(opened)} case(s) opened")
    return 0


def cmd_cases_list(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        found = cases.list_cases(conn, args.state)
    for s in found:
        c = s.case
        print(f"{s.id:>5} {c.state.value:<21} {c.updated_on} {c.operator:<12} {c.area:<14} "
              f"{c.standard_id} {c.kpi_id}")  # fmt: skip
    if not found:
        print("no cases")
    return 0


def _stored(conn, case_id: int) -> cases.StoredCase:  # type: ignore[no-untyped-def]
    stored = cases.get(conn, case_id)
    if stored is None:
        raise ConfigError("case", str(case_id), "no such case")
    return stored


def cmd_cases_show(args: argparse.Namespace) -> int:
    cfg = _settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        stored = _stored(conn, args.case_id)
        notices = cases.notices_of(conn, args.case_id)
    _print_case(stored, _policy(cfg))
    for state, language, issued, text in notices:
        if args.notices:
            print(f"\n--- {state} ({language}, {issued}) ---\n{text}")
        else:
            print(f"  notice: {state} ({language}) issued {issued}")
    return 0


def cmd_cases_advance(args: argparse.Namespace) -> int:
    from giamsat.aggregator.compliance import EscalationError

    cfg = _settings(args)
    on = date.fromisoformat(args.on) if args.on else date.today()
    digest = cases.bundle_digest(Path(args.bundle)) if args.bundle else None
    with db.connect(cfg.dsn, autocommit=True) as conn:
        stored = _stored(conn, args.case_id)
        standard, operator = _standard_and_operator(
            cfg, stored.case.standard_id, stored.case.operator
        )
        area = conn.execute("SELECT id FROM areas WHERE name = %s", (stored.case.area,)).fetchone()
        result = _assess(cfg, conn, standard, operator, area[0] if area else stored.case.area,
                         _period(args))  # fmt: skip
        try:
            stored = cases.advance(conn, stored, result, on, operator=operator,
                                   standard=standard, bundle_sha256=digest,
                                   policy=_policy(cfg))  # fmt: skip
        except (EscalationError, ValueError) as exc:
            print(f"giamsat: case {args.case_id} not advanced: {exc}", file=sys.stderr)
            return 1
    _print_case(stored, _policy(cfg))
    return 0


def cmd_cases_close(args: argparse.Namespace) -> int:
    from giamsat.aggregator.compliance import EscalationError

    cfg = _settings(args)
    on = date.fromisoformat(args.on) if args.on else date.today()
    with db.connect(cfg.dsn, autocommit=True) as conn:
        try:
            stored = cases.close(conn, _stored(conn, args.case_id), on, args.reason)
        except EscalationError as exc:
            print(f"giamsat: {exc}", file=sys.stderr)
            return 1
    _print_case(stored, _policy(cfg))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from giamsat.aggregator.serve import serve

    cfg = _settings(args)
    if getattr(args, "client_id", None):
        cfg = dataclasses.replace(
            cfg, broker=dataclasses.replace(cfg.broker, client_id=args.client_id)
        )
    with db.connect(cfg.dsn, autocommit=True) as conn:
        db.check_timescaledb(conn)
    if not args.no_api:
        print(f"giamsat: API on {cfg.api.url}", flush=True)
    return asyncio.run(serve(cfg, with_ingest=not args.no_ingest, with_api=not args.no_api))


def cmd_speedserver(args: argparse.Namespace) -> int:
    from giamsat.aggregator.http import speedserver

    print(f"giamsat: speed server on http://{args.host}:{args.port}", flush=True)
    speedserver.run(args.host, args.port)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    args.no_api, args.no_ingest = True, False
    return cmd_serve(args)


def _refresh_broker(cfg: settings.Settings, conn) -> None:  # type: ignore[no-untyped-def]
    """Rewrite passwd/acl where the broker reads them and ask it to reload."""
    if cfg.broker.config_dir:
        broker.write_files(conn, Path(cfg.broker.config_dir), topic_prefix=cfg.broker.topic_prefix)
        warning = broker.reload(cfg.broker.reload_command)
        if warning:
            print(f"giamsat: warning: {warning}; reload the broker yourself", file=sys.stderr)


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
    parser.add_argument(
        "--log-format", choices=logs.FORMATS, help="text (default) or json lines for collectors"
    )
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
    comp.add_argument(
        "--area", default="all", help="area id, an H3 cell, probe:<id> (its village), or all"
    )
    comp.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
    comp.add_argument("--to", dest="date_to", required=True, help="last day, YYYY-MM-DD")
    comp.add_argument("--format", choices=("table", "json", "csv"), default="table")

    cp = sub.add_parser("cases", help="escalation cases", description="escalation cases")
    csub = cp.add_subparsers(dest="cases_command", required=True, metavar="COMMAND")
    co = command("open", cmd_cases_open, "assess and open a case for every FAIL", csub)
    co.add_argument("--standard", required=True)
    co.add_argument("--operator", required=True)
    co.add_argument("--area", required=True, help="area id or H3 cell")
    co.add_argument("--from", dest="date_from", required=True)
    co.add_argument("--to", dest="date_to", required=True)
    co.add_argument("--on", help="date of the decision (default today)")
    cl = command("list", cmd_cases_list, "list cases", csub)
    cl.add_argument("--state", help="only cases in this state")
    cs = command("show", cmd_cases_show, "a case's history and notices", csub)
    cs.add_argument("case_id", type=int)
    cs.add_argument("--notices", action="store_true", help="print the notices' full text")
    ca = command("advance", cmd_cases_advance, "apply a new verdict: escalate or close", csub)
    ca.add_argument("case_id", type=int)
    ca.add_argument("--from", dest="date_from", required=True, help="monitoring period start")
    ca.add_argument("--to", dest="date_to", required=True, help="monitoring period end")
    ca.add_argument("--on", help="date of the decision (default today)")
    ca.add_argument("--bundle", help="evidence bundle ZIP the notice cites")
    cc = command("close", cmd_cases_close, "close a case by decision", csub)
    cc.add_argument("case_id", type=int)
    cc.add_argument("--reason", required=True)
    cc.add_argument("--on", help="date of the decision (default today)")

    serve = command("serve", cmd_serve, "run ingest worker, HTTP API and speed server")
    serve.add_argument("--no-ingest", action="store_true", help="API only")
    serve.add_argument("--no-api", action="store_true", help="ingest only")
    ing = command("ingest", cmd_ingest, "run one ingest worker (several share the subscription)")
    ing.add_argument(
        "--client-id",
        help="this worker's MQTT client id; stable across restarts and unique per worker, "
        "so a crashed worker's unacknowledged records are redelivered to it",
    )
    sp = sub.add_parser(
        "speedserver",
        help="run a standalone speed server for probes to measure against",
        description="run a standalone speed server for probes to measure against",
    )
    sp.add_argument("--host", default="0.0.0.0")
    sp.add_argument("--port", type=int, default=8090)
    sp.set_defaults(handler=cmd_speedserver)

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

    from giamsat.aggregator.cli import evidence as evidence_cli

    evidence_cli.register(sub, command)

    dl = sub.add_parser("deadletter", help="rejected records", description="rejected records")
    dlsub = dl.add_subparsers(dest="dl_command", required=True, metavar="COMMAND")
    dll = command("list", cmd_deadletter_list, "show rejected payloads with their reason", dlsub)
    dll.add_argument("--reason", help="only this reason code")
    dll.add_argument("--limit", type=int, default=50)
    dll.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.verbose, args.log_format)
    try:
        return args.handler(args)
    except (ConfigError, DatabaseError, RegistryError, TokenError) as exc:
        print(f"giamsat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
