"""Agent footprint: resident memory idle and during a cycle, against a bare Python.

Starts a private Mosquitto and a speed server on loopback, runs
`giamsat-agent run` with a short interval, and samples the agent's VmRSS
(idle, between cycles) and VmHWM (peak) from /proc, and the peak of the agent
plus the short-lived child that runs each cycle's network tests.
The reference is a bare `python3 -c "sleep"` measured in the same run, so the
ratio says what giamsat adds on top of the interpreter. Target: idle <= 40 MB.

    .venv/bin/python bench/footprint.py
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # demo.services: the private service launchers

from demo.services import Mosquitto  # noqa: E402
from giamsat.aggregator.http.speedserver import create_app, serve_in_thread  # noqa: E402

BIN = Path(sys.executable).parent


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found for {pid}")


def tree_rss_mb(pid: int) -> float:
    """The agent's RSS plus its measurement child's, if one is running (shared pages
    count twice, so this overstates the true total a little)."""
    total = rss_mb(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError, RuntimeError):  # the child may just have ended
                total += rss_mb(int(child))
    return total


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="giamsat-footprint-"))
    broker = Mosquitto(work / "mqtt")
    broker.start()
    bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with serve_in_thread(create_app()) as url:
            config = work / "agent.toml"
            config.write_text(
                f'[probe]\nid = "footprint-01"\ndata_dir = "{work / "data"}"\n'
                f"[broker]\nport = {broker.port}\n"
                "[schedule]\ninterval_s = 8\njitter_s = 0\n"
                '[location]\nsource = "static"\nlat = 22.15\nlon = 105.83\n'
                '[signal]\nsource = "sim"\n'
                "[latency]\ncount = 10\ninterval_s = 0.05\n"
                f'[throughput]\nurl = "{url}"\nstreams = 4\nmax_s = 3\nmax_bytes = 200000000\n'
            )
            agent = subprocess.Popen(
                [str(BIN / "giamsat-agent"), "run", "-c", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            idle: list[float] = []
            start = time.monotonic()
            # Three cycles: sample RSS every 50 ms; "idle" is the last 2 s before each cycle.
            samples: list[tuple[float, float]] = []
            tree_peak = 0.0
            while time.monotonic() - start < 25:
                samples.append((time.monotonic() - start, rss_mb(agent.pid)))
                tree_peak = max(tree_peak, tree_rss_mb(agent.pid))
                time.sleep(0.05)
            peak = rss_mb(agent.pid, "VmHWM")
            cpu = Path(f"/proc/{agent.pid}/stat").read_text().split()
            cpu_s = (int(cpu[13]) + int(cpu[14])) / 100
            idle = [mb for t, mb in samples if any(c - 2 <= t < c for c in (8, 16, 24))]
            agent.terminate()
            agent.wait(timeout=30)
            stopped_cleanly = agent.returncode == 0
        reference = rss_mb(bare.pid)
    finally:
        bare.kill()
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    idle_mb = max(idle)
    print(f"{'':<28}{'MB':>8}{'x bare python':>15}")
    print(f"{'bare python3 (reference)':<28}{reference:>8.1f}{1.0:>15.2f}")
    print(f"{'agent idle (max between)':<28}{idle_mb:>8.1f}{idle_mb / reference:>15.2f}")
    print(f"{'agent peak (VmHWM, cycle)':<28}{peak:>8.1f}{peak / reference:>15.2f}")
    print(f"{'agent + test child, peak':<28}{tree_peak:>8.1f}{tree_peak / reference:>15.2f}")
    print(f"agent CPU time over 3 cycles in 25 s: {cpu_s:.2f} s; SIGTERM exit 0: {stopped_cleanly}")
    ok = idle_mb <= 40 and stopped_cleanly
    print(f"target idle <= 40 MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
