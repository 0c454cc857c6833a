"""`giamsat-agent`: the probe's command line."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from giamsat.agent import identity, settings
from giamsat.agent.signal import SignalError, capture_sources, parse_capture
from giamsat.contract import logs, record
from giamsat.contract.config import ConfigError

if TYPE_CHECKING:
    from giamsat.agent.probe import Probe


def cmd_identity(args: argparse.Namespace) -> int:
    cfg = settings.load(args.config)
    key = identity.load_or_create(cfg.data_dir)
    pub = record.public_key_b64(key)
    if args.json:
        print(json.dumps({"probe": cfg.probe_id, "pubkey": pub}))
    else:
        print(f"probe:  {cfg.probe_id}\npubkey: {pub}")
        print(f"register it with: giamsat probes add {cfg.probe_id} --pubkey {pub}")
    return 0


def _probe(args: argparse.Namespace) -> Probe:
    from giamsat.agent.probe import Probe

    return Probe(settings.load(args.config))


def cmd_once(args: argparse.Namespace) -> int:
    from giamsat.agent.publisher import drain

    probe = _probe(args)
    try:
        signed = probe.measure()
        kept = probe.spool_record(signed)
        result = drain(probe.spool, probe.id, probe.settings.broker)
    finally:
        probe.close()
    if args.json:
        print(json.dumps(signed, ensure_ascii=False, sort_keys=True))
    else:
        net, dl, ul = signed.get("net") or {}, signed.get("dl") or {}, signed.get("ul") or {}
        print(f"record {signed['id']} at {signed['t']}")
        network = f"{net.get('op') or '-'} {net.get('tech') or '-'}"
        print(f"  network: {network} service={net.get('service')}")
        rsrp = (signed.get("sig") or {}).get("rsrp_dbm")
        print(f"  signal:  RSRP {rsrp} dBm" if rsrp is not None else "  signal:  none")
        rtt = (signed.get("lat") or {}).get("rtt_ms_p50")
        print(f"  latency: {rtt} ms" if rtt is not None else "  latency: not measured")
        print(f"  down/up: {dl.get('mbps', '-')} / {ul.get('mbps', '-')} Mbit/s")
        print(f"  errors:  {', '.join(signed.get('errors', [])) or 'none'}")
    if not kept:
        print("giamsat-agent: spool is full, this record was not kept", file=sys.stderr)
        return 1
    if result.error:
        print(
            f"giamsat-agent: not delivered yet ({result.error}); kept in the spool", file=sys.stderr
        )
        return 3
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from giamsat.agent import runner

    probe = _probe(args)
    stop = threading.Event()
    runner.install_stop_handlers(stop)
    try:
        runner.run(probe, stop, max_cycles=args.cycles)
    finally:
        probe.close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from giamsat.agent.budget import DataBudget
    from giamsat.agent.spool import Spool

    cfg = settings.load(args.config)
    spool = Spool(cfg.data_dir / "spool.sqlite3", cfg.spool_max_bytes)
    status = spool.status()
    spool.close()
    budget = DataBudget(cfg.data_dir / "budget.json", cfg.monthly_budget_bytes)
    out = {
        "probe": cfg.probe_id,
        "spool_queued": status.queued,
        "spool_bytes": status.bytes,
        "spool_max_bytes": status.max_bytes,
        "spool_oldest_age_s": status.oldest_age_s,
        "spool_refused_full": status.refused_full,
        "last_publish": status.last_publish,
        "budget_month": budget.month,
        "budget_used_bytes": budget.used,
        "budget_monthly_bytes": budget.monthly_bytes,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    last = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status.last_publish))
        if status.last_publish
        else "never"
    )
    oldest = f"{status.oldest_age_s:.0f} s" if status.oldest_age_s is not None else "-"
    print(f"probe:          {cfg.probe_id}")
    print(f"spool:          {status.queued} record(s), {status.bytes} of {status.max_bytes} bytes")
    print(f"oldest queued:  {oldest}")
    print(f"last publish:   {last}")
    if status.refused_full:
        print(f"REFUSED (spool full): {status.refused_full} record(s)")
    used_mb, cap_mb = budget.used / 2**20, budget.monthly_bytes / 2**20
    print(f"data budget:    {used_mb:.1f} of {cap_mb:.0f} MiB used in {budget.month}")
    return 0


def cmd_signal(args: argparse.Namespace) -> int:
    try:
        text = Path(args.from_file).read_text(errors="replace")
    except OSError as exc:
        print(f"giamsat-agent: cannot read {args.from_file}: {exc.strerror}", file=sys.stderr)
        return 2
    reading = parse_capture(args.source, text)
    out: dict[str, Any] = {"net": reading.net, "sig": reading.sig}
    if reading.neighbours:
        out["neighbours"] = reading.neighbours
    if reading.errors:
        out["errors"] = reading.errors
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


class _CaptureSources:
    """The ``--source`` choices, asked of the registry only when the signal command is used.

    Listing them imports every signal module, which ``giamsat-agent run``,
    idling for months, should not carry; the metavar keeps argparse from
    listing them while it builds the parser.
    """

    def __contains__(self, name: object) -> bool:
        return name in capture_sources()

    def __iter__(self) -> Iterator[str]:
        return iter(capture_sources())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="giamsat-agent",
        description="giamsat probe: measures signal, latency and throughput, "
        "signs each record and delivers it to the aggregator over MQTT.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--log-format", choices=logs.FORMATS, help="text (default) or json lines for collectors"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", required=True, help="agent TOML config")
        return p

    ident = with_config(command("identity", cmd_identity, "print probe id and public key"))
    ident.add_argument("--json", action="store_true", help="print JSON")
    once = with_config(command("once", cmd_once, "run one measurement cycle and publish it"))
    once.add_argument("--json", action="store_true", help="print the signed record as JSON")
    run = with_config(command("run", cmd_run, "measure on the configured schedule until SIGTERM"))
    run.add_argument("--cycles", type=int, help="stop after this many cycles")
    status = with_config(command("status", cmd_status, "spool backlog, last publish, data budget"))
    status.add_argument("--json", action="store_true", help="print JSON")
    sig = command("signal", cmd_signal, "parse a captured modem output and print net + sig")
    sig.add_argument(
        "--source",
        required=True,
        choices=_CaptureSources(),
        metavar="SOURCE",
        help="the source whose parser reads the file: %(choices)s",
    )
    sig.add_argument("--from-file", required=True, help="file with the captured output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.verbose, args.log_format)
    try:
        return args.handler(args)
    except (ConfigError, SignalError) as exc:
        print(f"giamsat-agent: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
