"""Throughput accuracy on a link of known capacity: giamsat-http vs iperf3 vs speedtest-cli.

Run as root from the project root:  .venv/bin/python bench/accuracy.py

Two network namespaces joined by a veth pair (198.18.0.1/24 server side,
198.18.0.2/24 probe side: the benchmarking range, nothing leaves the
machine), each end's egress shaped with ``tc ... tbf`` to 10, 50 and
200 Mbit/s, so downloads and uploads each cross one shaper. The speed server
runs in one namespace (uvicorn subprocess), every client in the other.

What "the shaped rate" is: tbf meters ``skb->len``, the whole Ethernet frame
without preamble and FCS. A full TCP segment here is 1514 bytes on that meter
(14 Ethernet + 20 IP + 20 TCP + 12 timestamp option + 1448 payload), so the
most payload any TCP client can move is ``rate * 1448 / 1514`` (95.6 % of
the tbf rate). All three clients report payload (goodput), so each is
compared with that goodput ceiling; the error against the raw tbf rate is
printed too. HTTP headers (~200 bytes per request of ~0.1-30 MB) are
payload to TCP and are ignored: under 0.2 %.

"MB used" is payload bytes (HTTP bodies) of the whole test, pre-test and
warm-up included; iperf3's includes its omitted first second. Client, server
and shaper share this machine's two cores, so at 10 Mbit/s the kernel's
delivery of packets to the client comes in uneven bursts; that noise, not
the link, is what the spread between runs shows.

Needs iperf3 (Debian: apt-get install -y iperf3); without it that column is
skipped. The namespaces are deleted at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NS_SERVER, NS_PROBE = "gsacc-srv", "gsacc-probe"
DEV_SERVER, DEV_PROBE = "gsacc-s", "gsacc-p"
ADDR_SERVER, ADDR_PROBE = "198.18.0.1", "198.18.0.2"
SPEED_PORT, IPERF_PORT = 8080, 5201
RATES_MBIT = (10, 50, 200)
ETH_HEADER = 14


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def in_ns(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *args]


def teardown() -> None:
    for ns in (NS_SERVER, NS_PROBE):
        sh("ip", "netns", "del", ns, check=False)


def setup() -> None:
    teardown()  # leftovers of a run that was killed too hard to clean up
    sh("ip", "netns", "add", NS_SERVER)
    sh("ip", "netns", "add", NS_PROBE)
    sh(
        "ip",
        "link",
        "add",
        DEV_SERVER,
        "netns",
        NS_SERVER,
        "type",
        "veth",
        "peer",
        "name",
        DEV_PROBE,
        "netns",
        NS_PROBE,
    )
    for ns, dev, addr in ((NS_SERVER, DEV_SERVER, ADDR_SERVER), (NS_PROBE, DEV_PROBE, ADDR_PROBE)):
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def shape(rate_mbit: int) -> None:
    """tbf on both egresses; the bucket holds 2 ms of traffic, at least 16 KiB."""
    burst = max(16 * 1024, rate_mbit * 1_000_000 // 8 // 500)
    for ns, dev in ((NS_SERVER, DEV_SERVER), (NS_PROBE, DEV_PROBE)):
        sh(
            *in_ns(
                ns,
                "tc",
                "qdisc",
                "replace",
                "dev",
                dev,
                "root",
                "tbf",
                "rate",
                f"{rate_mbit}mbit",
                "burst",
                str(burst),
                "latency",
                "50ms",
            )
        )


def goodput_ceiling(rate_mbit: int) -> float:
    """Most TCP payload per second tbf lets through, from the MTU and TCP options in use."""
    mtu = json.loads(sh("ip", "-n", NS_SERVER, "-j", "link", "show", DEV_SERVER).stdout)[0]["mtu"]
    timestamps = (
        sh(*in_ns(NS_PROBE, "cat", "/proc/sys/net/ipv4/tcp_timestamps")).stdout.strip() != "0"
    )
    payload = mtu - 20 - 20 - (12 if timestamps else 0)
    return rate_mbit * payload / (mtu + ETH_HEADER)


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    code = (
        "import socket,sys,time\n"
        f"end=time.time()+{timeout}\n"
        "while time.time()<end:\n"
        f"    try: socket.create_connection(('{ADDR_SERVER}',{port}),1).close(); sys.exit(0)\n"
        "    except OSError: time.sleep(0.1)\n"
        "sys.exit(1)\n"
    )
    if subprocess.run(in_ns(NS_PROBE, sys.executable, "-c", code)).returncode != 0:
        raise RuntimeError(f"nothing listens on {ADDR_SERVER}:{port}")


def probe(method: str, direction: str, **options: Any) -> dict[str, Any]:
    url = f"http://{ADDR_SERVER}:{SPEED_PORT}"
    pairs = [f"{k}={json.dumps(v)}" for k, v in options.items()]
    script = str(ROOT / "bench" / "accuracy_probe.py")
    out = subprocess.run(
        in_ns(NS_PROBE, sys.executable, script, method, direction, url, *pairs),
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout)


def iperf(direction: str, seconds: int) -> dict[str, Any]:
    """iperf3 with 4 streams, the first second (slow start) omitted from its rate."""
    args = [
        "iperf3",
        "-c",
        ADDR_SERVER,
        "-p",
        str(IPERF_PORT),
        "-P",
        "4",
        "-t",
        str(seconds),
        "-O",
        "1",
        "-J",
    ]
    if direction == "dl":
        args.append("-R")
    started = time.monotonic()
    out = subprocess.run(in_ns(NS_PROBE, *args), check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    moved = sum(interval["sum"]["bytes"] for interval in report["intervals"])
    return {
        "mbps": report["end"]["sum_received"]["bits_per_second"] / 1e6,
        "bytes": moved,
        "dur_s": time.monotonic() - started,
        "method": "iperf3",
    }


def row(rate: int, direction: str, ceiling: float, result: dict[str, Any]) -> dict[str, Any]:
    mbps = result.get("mbps")
    return {
        "rate_mbit": rate,
        "dir": direction,
        "method": result.get("method"),
        "mbps": mbps,
        "err_ceiling_pct": None if mbps is None else 100 * (mbps - ceiling) / ceiling,
        "err_tbf_pct": None if mbps is None else 100 * (mbps - rate) / rate,
        "mb": result.get("bytes", 0) / 1e6,
        "dur_s": result.get("dur_s"),
        "stop": result.get("stop", ""),
        "error": result.get("error", ""),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'tbf':>5} {'dir':3} {'method':14} {'Mbit/s':>8} {'err/ceil':>9} {'err/tbf':>8} "
        f"{'MB used':>8} {'dur s':>6}  stop"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        mbps = "-" if r["mbps"] is None else f"{r['mbps']:8.2f}"
        e1 = "-" if r["err_ceiling_pct"] is None else f"{r['err_ceiling_pct']:+8.2f}%"
        e2 = "-" if r["err_tbf_pct"] is None else f"{r['err_tbf_pct']:+7.2f}%"
        print(
            f"{r['rate_mbit']:>5} {r['dir']:3} {r['method']:14} {mbps:>8} {e1:>9} {e2:>8} "
            f"{r['mb']:8.1f} {r['dur_s']:6.1f}  {r['stop']} {r['error']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="giamsat-http runs per rate and direction"
    )
    parser.add_argument("--rates", type=int, nargs="+", default=list(RATES_MBIT))
    parser.add_argument("--json", type=Path, help="also write all rows to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces and tc)", file=sys.stderr)
        return 2
    have_iperf = shutil.which("iperf3") is not None
    if not have_iperf:
        print("iperf3 not found (apt-get install -y iperf3): its rows are skipped", file=sys.stderr)

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)

    servers: list[subprocess.Popen[bytes]] = []
    rows: list[dict[str, Any]] = []
    try:
        setup()
        server = "giamsat.aggregator.http.speedserver"
        code = f"from {server} import run; run({ADDR_SERVER!r}, {SPEED_PORT})"
        servers.append(subprocess.Popen(in_ns(NS_SERVER, sys.executable, "-c", code), cwd=ROOT))
        if have_iperf:
            servers.append(
                subprocess.Popen(
                    in_ns(NS_SERVER, "iperf3", "-s", "-B", ADDR_SERVER, "-p", str(IPERF_PORT)),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_for_port(IPERF_PORT)
        wait_for_port(SPEED_PORT)
        for rate in args.rates:
            shape(rate)
            ceiling = goodput_ceiling(rate)
            print(f"\n== tbf {rate} Mbit/s; TCP goodput ceiling {ceiling:.2f} Mbit/s", flush=True)
            for direction in ("dl", "ul"):
                for _ in range(args.repeat):
                    rows.append(row(rate, direction, ceiling, probe("giamsat-http", direction)))
                rows.append(row(rate, direction, ceiling, probe("speedtest-cli", direction)))
                if have_iperf:
                    rows.append(row(rate, direction, ceiling, iperf(direction, 5)))
            print_table([r for r in rows if r["rate_mbit"] == rate])
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
        teardown()
    summarize(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def summarize(rows: list[dict[str, Any]]) -> None:
    print("\n== summary (giamsat-http: worst error over its runs; bytes vs speedtest-cli's)")
    for rate in sorted({r["rate_mbit"] for r in rows}):
        for direction in ("dl", "ul"):
            own = [
                r
                for r in rows
                if r["rate_mbit"] == rate
                and r["dir"] == direction
                and r["method"] == "giamsat-http"
            ]
            ref = [
                r
                for r in rows
                if r["rate_mbit"] == rate
                and r["dir"] == direction
                and r["method"] == "speedtest-cli"
            ]
            errs = [abs(r["err_ceiling_pct"]) for r in own if r["err_ceiling_pct"] is not None]
            if not own or not ref or not errs or len(errs) < len(own):
                print(f"{rate:>5} {direction}: incomplete")
                continue
            mean_mb = sum(r["mb"] for r in own) / len(own)
            ratio = mean_mb / ref[0]["mb"] if ref[0]["mb"] else float("inf")
            ok = max(errs) <= 3.0 and ratio <= 0.5
            print(
                f"{rate:>5} {direction}: worst |error| {max(errs):.2f} % of ceiling, "
                f"bytes own/speedtest-cli {ratio:.2f}  {'OK' if ok else 'MISSES TARGET'}"
            )


if __name__ == "__main__":
    sys.exit(main())
