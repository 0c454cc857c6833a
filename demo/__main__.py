"""`make demo`: broker, database, aggregator and a probe on this machine.

Everything lives under .state/demo (git-ignored) and keeps running in the
background after this script returns, so the printed URL can be opened;
`make stop` (``demo.py down``) stops it all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

from demo import declarations, fleet
from demo.services import Mosquitto, Postgres, ServiceError, free_port
from demo.villages import THAI_NGUYEN, address

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("GIAMSAT_STATE", ROOT / ".state")) / "demo"
BIN = Path(sys.executable).parent
PROBE_ID = "bk-pacnam-01"
# Where config/agent.example.toml's static location puts this probe (22.1470 N,
# 105.8348 E, the former Bắc Kạn town), addressed as since 1 July 2025.
PROBE_VILLAGE = address(THAI_NGUYEN, "Phường Đức Xuân")


def _ports() -> dict[str, int]:
    path = STATE / "ports.json"
    if path.exists():
        return json.loads(path.read_text())
    ports = {"mqtt": free_port(), "pg": free_port(), "api": 8080}
    try:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 8080))
    except OSError:
        ports["api"] = free_port()
    STATE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ports))
    return ports


def _spawn(name: str, *args: str) -> None:
    log = (STATE / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        [str(BIN / args[0]), *args[1:]],
        stdout=log,
        stderr=log,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    (STATE / f"{name}.pid").write_text(str(proc.pid))


def _alive(name: str) -> bool:
    pidfile = STATE / f"{name}.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def _kill(name: str) -> None:
    pidfile = STATE / f"{name}.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError):
        pass
    pidfile.unlink(missing_ok=True)


def _run(*args: str) -> str:
    result = subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"demo: {' '.join(args[:3])} failed:\n{result.stderr}")
    return result.stdout


def _aggregator_config(pg: Postgres, ports: dict[str, int], ingest_password: str = "") -> Path:
    path = STATE / "aggregator.toml"
    path.write_text(
        f'[database]\ndsn = "{pg.dsn}"\n\n'
        f'[broker]\nport = {ports["mqtt"]}\nclient_id = "demo-ingest"\n'
        f'username = "demo-ingest"\npassword = "{ingest_password}"\n'
        f'config_dir = "{STATE / "broker"}"\n'
        # Mosquitto re-reads passwd and acl on SIGHUP, so new probes can connect at once.
        f'reload_command = "test ! -e {STATE / "mosquitto.pid"} || '
        f'kill -HUP $(cat {STATE / "mosquitto.pid"})"\n\n'
        f"[api]\nport = {ports['api']}\n"
    )
    return path


def _wait_healthy(api: str) -> bool:
    for _ in range(150):
        try:
            if httpx.get(f"{api}/healthz", timeout=1).json().get("broker") == "connected":
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


# MB: 2,880 cycles a day x 2 directions x 50 MB, with room to spare.
DEMO_BUDGET_MB = 300_000


def up(ci: bool = False) -> int:
    ports = _ports()
    api = f"http://127.0.0.1:{ports['api']}"
    pg = Postgres(STATE / "postgres", port=ports["pg"])
    try:
        pg.start()
    except ServiceError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    agg_conf = _aggregator_config(pg, ports)
    print(
        "demo:",
        _run("giamsat", "db", "init", "-c", str(agg_conf)).strip().replace("\n", "\ndemo: "),
    )

    # Broker accounts: one for ingest, one per probe, and an ACL that keeps each probe
    # to its own topic. Passwords stay in .state/demo, readable by this user only.
    ingest_pw = STATE / "ingest.password"
    if not ingest_pw.exists():
        _run("giamsat", "broker", "account", "demo-ingest", "--password-file", str(ingest_pw),
             "-c", str(agg_conf))  # fmt: skip
    agg_conf = _aggregator_config(pg, ports, ingest_pw.read_text().strip())
    agent_conf = STATE / "agent.toml"
    probe_pw = STATE / "probe.password"

    def write_agent_config(password_file: str) -> None:
        agent_conf.write_text(
            (ROOT / "config" / "agent.example.toml")
            .read_text()
            .replace('data_dir = "~/.local/share/giamsat-agent"', f'data_dir = "{STATE / "probe"}"')
            .replace('host = "mqtt.example.vn"', 'host = "127.0.0.1"')
            .replace("port = 1883                  # 8883", f"port = {ports['mqtt']}  # 8883")
            .replace('password_file = ""', f'password_file = "{password_file}"')
            .replace("http://speed.example.vn:8080", api)
            .replace("interval_s = 900", "interval_s = 30")
            .replace("jitter_s = 60", "jitter_s = 5")
            .replace("max_s = 10", "max_s = 2")
            # A day of 30-second cycles at the 50 MB cap per direction, so the demo
            # never stops measuring throughput (2,048 MB lasted three cycles).
            .replace("monthly_mb = 2048 ", f"monthly_mb = {DEMO_BUDGET_MB} ")
            .replace('sim_operator = ""', 'sim_operator = "Viettel"')
        )

    write_agent_config(str(probe_pw) if probe_pw.exists() else "")
    ident = json.loads(_run("giamsat-agent", "identity", "--json", "-c", str(agent_conf)))
    if not probe_pw.exists():
        _run("giamsat", "probes", "add", PROBE_ID, "--pubkey", ident["pubkey"],
             "--village", PROBE_VILLAGE, "--password-file", str(probe_pw),
             "-c", str(agg_conf))  # fmt: skip
        write_agent_config(str(probe_pw))

    from giamsat.aggregator import settings as agg_settings

    broker = Mosquitto(
        STATE / "mosquitto",
        port=ports["mqtt"],
        password_file=STATE / "broker" / "passwd",
        acl_file=STATE / "broker" / "acl",
        message_size_limit=agg_settings.load(agg_conf).ingest.max_payload_bytes,
    )
    try:
        if not _alive("mosquitto"):
            broker.start()
            assert broker.process is not None
            (STATE / "mosquitto.pid").write_text(str(broker.process.pid))
    except ServiceError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    if not _alive("aggregator"):
        _spawn("aggregator", "giamsat", "serve", "-c", str(agg_conf))
    if not _wait_healthy(api):
        print(f"demo: aggregator did not start; see {STATE / 'aggregator.log'}", file=sys.stderr)
        return 1

    token_file = STATE / "inspector.token"
    if not token_file.exists():
        token = _run("giamsat", "tokens", "add", f"demo-inspector-{int(time.time())}",
                     "--role", "inspector", "--quiet", "-c", str(agg_conf)).strip()  # fmt: skip
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
    headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}

    if not _alive("probe"):
        _spawn("probe", "giamsat-agent", "run", "-c", str(agent_conf))
    for _ in range(300):
        try:
            got = httpx.get(
                f"{api}/api/v1/records", params={"probe": PROBE_ID}, headers=headers, timeout=2
            )
            if got.status_code == 200 and got.json():
                break
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    else:
        print(f"demo: no record arrived; see {STATE / 'probe.log'}", file=sys.stderr)
        return 1
    print(f"demo: probe {PROBE_ID} measures every 30 s and publishes to the aggregator")

    size = fleet.CI if ci else fleet.DEMO
    _declare(agg_conf, pg.dsn, size)
    print(f"demo: simulated fleet: {size.probes} probes, {size.days} days, "
          f"every {size.interval_min} min, through the broker")  # fmt: skip
    summary = fleet.run(
        pg.dsn, "127.0.0.1", ports["mqtt"], probes=size.probes, days=size.days,
        interval_min=size.interval_min, state_dir=STATE / "fleet", progress=fleet.Progress(),
        broker_config_dir=STATE / "broker",
        broker_reload=f"kill -HUP $(cat {STATE / 'mosquitto.pid'})",
    )  # fmt: skip
    print(summary.table())
    gaps_query = _declared_summary(agg_conf, summary)

    worst = _worst_case(agg_conf, summary)
    bundle = STATE / "evidence.zip"
    trust_file = STATE / "trust.toml"
    if worst is not None:
        standard, operator, area, first, last, why, scope = worst
        print(f"demo: worst operator-area: {operator} in {area} on {standard} ({why})")
        print(f"demo:   {scope}")
        build = subprocess.run(
            [str(BIN / "giamsat"), "evidence", "build", "--standard", standard,
             "--operator", operator, "--area", area, "--from", first, "--to", last,
             "--out", str(bundle), "--quiet", "-c", str(agg_conf)],
            text=True, capture_output=True,
        )  # fmt: skip
        print(build.stdout, end="")
        if build.returncode != 0:
            print(f"demo: evidence build failed:\n{build.stderr}", file=sys.stderr)
            return 1
        # The regulator publishes its keys; a verifier trusts only what it publishes.
        published = subprocess.run(
            [str(BIN / "giamsat"), "evidence", "key", "-c", str(agg_conf),
             "--trust-file", str(trust_file), "--issuer", "Cục Viễn thông (demo)"],
            text=True, capture_output=True,
        )  # fmt: skip
        if published.returncode != 0:
            print(f"demo: could not write the trust file:\n{published.stderr}", file=sys.stderr)
            return 1
        check = subprocess.run(
            [str(BIN / "giamsat"), "evidence", "verify", str(bundle), "--trust", str(trust_file)],
            text=True,
            capture_output=True,
        )
        print(check.stdout, end="")
        if check.returncode != 0:
            print(f"demo: the bundle did not verify:\n{check.stderr}", file=sys.stderr)
            return 1

    print(f"demo: log in at {api}/login with the token in {token_file}")
    print(f"demo:   map         {api}/map")
    print(f"demo:   compliance  {api}/compliance")
    print(f"demo:   trends      {api}/trends")
    print(f"demo:   probes      {api}/probes")
    auth = f'-H "Authorization: Bearer $(cat {token_file})"'
    print(f"demo:   records     curl {auth} {api}/api/v1/records")
    if gaps_query:
        print(f"demo:   gaps        curl {auth} '{api}/api/v1/coverage/gaps?{gaps_query}'")
    if worst is not None:
        print(f"demo:   evidence    {bundle}"
              f" (giamsat evidence verify {bundle} --trust {trust_file})")  # fmt: skip
    print("demo: stop everything with `make stop`")
    print(f"{api}/map")
    return 0


def _declare(agg_conf: Path, dsn: str, size: fleet.FleetSize) -> None:
    """Each operator publishes its declared service areas; import them as the regulator does.

    The files are drawn from the operators' sites (:mod:`demo.declarations`),
    written under the demo's state directory and imported with ``giamsat
    coverage import``, valid from before the fleet's first record. A rerun on
    the same state finds them stored (the same towers give the same bytes) and
    imports nothing; a stored declaration that differs is kept, since a new
    one could not take effect before the data it would judge.
    """
    from giamsat.aggregator.compliance.clusters import local_day
    from giamsat.aggregator.store import db
    from giamsat.aggregator.store import declarations as stored

    files = declarations.write(fleet.World().towers, STATE / "declarations")
    first, _ = fleet.time_grid(size.days, size.interval_min)
    start = declarations.valid_from(local_day(first))
    with db.connect(dsn, autocommit=True) as conn:
        have = {(d.operator, d.technology): d for d in stored.list_declarations(conn)}
    for f in files:
        old = have.get((f.operator, f.technology))
        if old is not None:
            if old.sha256 != f.sha256:
                print(
                    f"demo: {f.operator} {f.technology}: keeping the declaration imported earlier"
                    f" ({old.sha256[:12]}, {old.file_name}); `make clean` starts over"
                )
            continue
        out = _run("giamsat", "coverage", "import", "--operator", f.operator,
                   "--technology", f.technology, "--valid-from", start.isoformat(),
                   str(f.path), "-c", str(agg_conf))  # fmt: skip
        if f"declaration {f.sha256}" not in out:
            raise SystemExit(f"demo: {f.path} was not imported as written:\n{out}")
        print(f"demo: {f.operator} declares its {f.technology} service area from {start}: "
              f"{f.path.name}, {len(f.zones)} zone(s), SHA-256 {f.sha256[:12]}")  # fmt: skip


def _declared_summary(agg_conf: Path, summary: fleet.Summary) -> str:
    """Print each operator's declarations and its hexagons declared covered, measured dead.

    Returns the query string of ``/api/v1/coverage/gaps`` for the operator with
    the most gaps (empty when there is none).
    """
    from giamsat.aggregator import settings as agg_settings
    from giamsat.aggregator.compliance import Period
    from giamsat.aggregator.compliance import gaps as gaps_mod
    from giamsat.aggregator.compliance.clusters import local_day
    from giamsat.aggregator.store import db
    from giamsat.aggregator.store import declarations as stored

    cfg = agg_settings.load(agg_conf)
    coverage = gaps_mod.coverage_in(cfg.compliance.standards_dir)
    period = Period(local_day(summary.start), local_day(datetime.now(UTC)))
    lines, most = [], (0, "", "")
    with db.connect(cfg.dsn, autocommit=True) as conn:
        for operator in (row.operator for row in summary.operators):
            mine = [
                d
                for d in stored.list_declarations(conn, operator)
                if d.valid_from <= period.end and (d.valid_to is None or d.valid_to >= period.start)
            ]
            if not mine:
                lines.append(f"demo:   {operator:<10} declared nothing: every sample judged")
                continue
            found = {}
            for technology in sorted({d.technology for d in mine}):
                report = gaps_mod.find_gaps(conn, coverage, [operator], technology, period)
                found[technology] = report.gaps
                if len(report.gaps) > most[0]:
                    most = (len(report.gaps), operator, technology)
            declared = ", ".join(
                f"{d.technology} {d.sha256[:12]} ({d.zones} zone{'s' * (d.zones != 1)})"
                for d in mine
            )
            total = sum(len(g) for g in found.values())
            detail = "; ".join(
                f"{tech}: {_zone_counts([x.zone for x in g])}" for tech, g in found.items() if g
            )
            dead = f"{total} hexagon{'s' * (total != 1)} ({detail})" if total else "none"
            lines.append(
                f"demo:   {operator:<10} {declared}; declared covered, measured dead: {dead}"
            )
    print(
        f"demo: declared service areas (QCVN 81/126 Annex B), {period.start}..{period.end},"
        " and their hexagons the map classes dead:"
    )
    print("\n".join(lines))
    if not most[0]:
        return ""
    _, operator, technology = most
    print(
        f"demo:   list them: giamsat coverage gaps --operator {operator} --technology"
        f" {technology} --from {period.start} --to {period.end} -c {agg_conf}"
    )
    return f"operator={operator}&technology={technology}&from={period.start}&to={period.end}"


def _zone_counts(zones: list[str]) -> str:
    """``2 in Nông thôn / rural, 1 in …``: how many gaps each declared zone holds."""
    return ", ".join(f"{n} in {zone}" for zone, n in Counter(zones).most_common())


def _worst_case(
    agg_conf: Path, summary: fleet.Summary
) -> tuple[str, str, str, str, str, str, str] | None:
    """The operator-area furthest below a QCVN limit, evidence-grade FAILs first.

    The last item says which samples the verdict counted (its declared service area).
    """
    from giamsat.aggregator import settings as agg_settings
    from giamsat.aggregator.compliance import Period, Verdict, load_operators, load_standards
    from giamsat.aggregator.compliance.national import national_table
    from giamsat.aggregator.store import db

    cfg = agg_settings.load(agg_conf)
    standards = [
        s for s in load_standards(cfg.compliance.standards_dir).values() if s.id.startswith("QCVN")
    ]
    operators = list(load_operators(cfg.compliance.operators_file).values())
    first, last = summary.start.date(), summary.end.date()
    period = Period(first, last)
    # A short CI fleet may not reach a FAIL: then the most clearly failing estimate is shown.
    SEVERITY = {Verdict.FAIL: 3, Verdict.AT_RISK: 2, Verdict.INSUFFICIENT_DATA: 1}
    best = None
    # The country-wide table, one pass over all 34 provinces, rather than one
    # assessment per province, operator and standard (204 queries).
    with db.connect(cfg.dsn, autocommit=True) as conn:
        table = national_table(conn, standards, operators, period)
    found = {(result.standard_id, result.operator, area): result for area, result in table}
    areas = sorted({area for area, _ in table})
    for standard in standards:
        for operator in operators:
            for area in areas:
                for k in found[(standard.id, operator.name, area)].kpis:
                    if k.value is None:
                        continue
                    short = (k.limit - k.value) if k.comparator == ">=" else (k.value - k.limit)
                    rank = (
                        SEVERITY.get(k.verdict, 0),
                        k.grade == "evidence",
                        short / max(abs(k.limit), 1e-9),
                    )
                    why = (
                        f"{k.kpi_id} = {k.value:.1f} {k.unit}, limit {k.comparator} "
                        f"{k.limit:g}: {k.verdict.value}, {k.grade} grade"
                    )
                    scope = (
                        k.scope.describe(operator.name, k.technology)
                        if k.scope is not None
                        else "every sample judged"
                    )
                    case = (standard.id, operator.name, area, str(first), str(last), why, scope)
                    if best is None or rank > best[0]:
                        best = (rank, case)
    return best[1] if best else None


def down() -> int:
    ports_file = STATE / "ports.json"
    for name in ("probe", "aggregator", "mosquitto"):
        _kill(name)
    if ports_file.exists():
        Postgres(STATE / "postgres", port=json.loads(ports_file.read_text())["pg"]).stop()
    print("demo: stopped")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--ci", action="store_true", help="a shortened fleet (12 probes, 3 days)")
    args = parser.parse_args()
    return up(ci=args.ci) if args.action == "up" else down()


if __name__ == "__main__":
    sys.exit(main())
