"""Helpers for tests that run giamsat's processes against real services."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from demo.services import Mosquitto

BIN = Path(sys.executable).parent


def service_dir(prefix: str) -> Path:
    """A directory the postgres user can enter (pytest's tmp_path sits under a 0700 one)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def write_aggregator_config(path: Path, dsn: str, broker: Mosquitto, api_port: int) -> Path:
    path.write_text(
        f'[database]\ndsn = "{dsn}"\n\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {broker.port}\n'
        f'client_id = "ingest-{uuid.uuid4().hex[:8]}"\n\n'
        f"[ingest]\nbatch_ms = 50\n\n"
        f'[api]\nhost = "127.0.0.1"\nport = {api_port}\n\n'
        "[compliance]\nrefresh_s = 1\n"
    )
    return path


def write_agent_config(
    path: Path, probe_id: str, broker: Mosquitto, speed_url: str, **extra: str
) -> Path:
    sections = {
        "probe": f'id = "{probe_id}"\ndata_dir = "{path.parent / ("data-" + probe_id)}"',
        "broker": f'host = "127.0.0.1"\nport = {broker.port}',
        "schedule": "interval_s = 2\njitter_s = 0",
        "location": 'source = "static"\nlat = 22.1470\nlon = 105.8348\nenv = "outdoor_fixed"',
        "signal": 'source = "sim"\nmcc = 452\nmnc = 4\ntech = "NR-NSA"\nrsrp_dbm = -95\nsd_db = 2',
        "latency": "count = 5\ninterval_s = 0.02",
        "throughput": (
            f'method = "giamsat-http"\nurl = "{speed_url}"\n'
            "streams = 2\nmax_s = 1\nmax_bytes = 400000000"
        ),
    }
    sections.update(extra)
    path.write_text("\n\n".join(f"[{k}]\n{v}" for k, v in sections.items()) + "\n")
    return path


class Aggregator:
    """`giamsat serve` as a separate process, as in production."""

    def __init__(self, config: Path, api_port: int, log: Path) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{api_port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "giamsat"), "serve", "--config", str(self.config)],
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"giamsat serve exited: {self.log.read_text()[-3000:]}")
            try:
                health = httpx.get(f"{self.url}/healthz", timeout=1).json()
                if health.get("broker") == "connected":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"giamsat serve not ready: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = 15) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_cli(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a console script of this project as a user would."""
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def publish(broker: Mosquitto, topic: str, payloads: list[bytes], client_id: str = "") -> None:
    """Publish with QoS 1 and wait until the broker has acknowledged every message."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"test-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(timeout=10)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def make_token(config: Path, role: str) -> dict[str, str]:
    """Create an API token with the CLI and return the Authorization header for it."""
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    token = run_cli("giamsat", "tokens", "add", name, "--role", role, "--quiet",
                    "--config", str(config)).stdout.strip()  # fmt: skip
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def chromium(profile: Path, size: tuple[int, int] = (1280, 900)) -> Iterator[Any]:
    """Headless Debian Chromium under chromedriver; fails loudly when either is missing."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from giamsat.maps.snapshot import CHROMIUM_FLAGS, find_chromium

    options = webdriver.ChromeOptions()
    options.binary_location = find_chromium()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=find_chromium("chromedriver"))
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_window_size(*size)
    try:
        yield browser
    finally:
        browser.quit()


def count_elements(driver: Any, selector: str) -> int:
    return int(driver.execute_script(f"return document.querySelectorAll('{selector}').length"))
