"""Location sources: termux-location on captured JSON, gpsd through gpsfake and a session replay."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from giamsat.agent.location import create
from giamsat.agent.location.gpsd import GpsdLocation, parse_tpv
from giamsat.agent.location.termux import TermuxLocation, parse
from giamsat.contract.config import Section

FIXTURES = Path(__file__).parent / "fixtures" / "location"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def options(**values: object) -> Section:
    return Section(dict(values), "agent.toml", "location")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- termux-location ---------------------------------------------------------------------------


def test_termux_gps_fix() -> None:
    assert parse(fixture("termux-location-gps.json")) == {
        "lat": 22.6101537,
        "lon": 105.8702214,
        "acc_m": 4.8,
        "src": "gps",
        "env": "outdoor_mobile",
    }


def test_termux_network_fix_and_env() -> None:
    assert parse(fixture("termux-location-network.json"), "indoor") == {
        "lat": 22.6118409,
        "lon": 105.8689934,
        "acc_m": 1083.0,
        "src": "network",
        "env": "indoor",
    }


def test_termux_error_mocked_and_garbage_give_none() -> None:
    assert parse(fixture("termux-location-error.json")) is None
    assert parse(fixture("termux-location-mocked.json")) is None
    assert parse("") is None
    assert parse("[]") is None


def install(directory: Path, name: str, body: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_termux_source_asks_for_one_fresh_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    install(
        bin_dir,
        "termux-location",
        f'echo "$*" > {tmp_path}/args\ncat {FIXTURES / "termux-location-network.json"}\n',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    source = create("termux", options(source="termux", provider="network", env="outdoor_fixed"))
    assert isinstance(source, TermuxLocation)
    loc = source.read()
    assert (tmp_path / "args").read_text().strip() == "-p network -r once"
    assert loc == {
        "lat": 22.6118409,
        "lon": 105.8689934,
        "acc_m": 1083.0,
        "src": "network",
        "env": "outdoor_fixed",
    }


def test_termux_source_times_out_to_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path / "bin", "termux-location", "sleep 60\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    started = time.monotonic()
    assert TermuxLocation(options(timeout_s=1.0)).read() is None
    assert time.monotonic() - started < 5.0


def test_termux_source_without_termux_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert TermuxLocation(options()).read() is None


# --- gpsd: parser on TPV lines captured from gpsd 3.22 ---------------------------------------


def test_tpv_3d_fix_with_eph() -> None:
    lines = fixture("gpsd-session.jsonl").splitlines()
    assert [parse_tpv(line) for line in lines[:4]] == [None, None, None, None]  # VERSION..DEVICE
    assert parse_tpv(lines[4]) == {"lat": 22.61, "lon": 105.87, "acc_m": 17.1}


def test_tpv_without_fix_or_position() -> None:
    for line in fixture("gpsd-session-nofix.jsonl").splitlines():
        assert parse_tpv(line) is None
    # gpsd 3.22 sends mode 3 with eph but no lat/lon right after activating a device.
    assert parse_tpv('{"class":"TPV","device":"/dev/pts/0","mode":3,"eph":17.100}') is None
    assert parse_tpv("not json") is None


def test_tpv_accuracy_from_epx_epy() -> None:
    line = '{"class":"TPV","mode":2,"lat":22.61,"lon":105.87,"epx":3.0,"epy":4.0}'
    assert parse_tpv(line) == {"lat": 22.61, "lon": 105.87, "acc_m": 5.0}


# --- gpsd: a loopback server replaying captured sessions ---------------------------------------


class Replay:
    """Answers ``?WATCH`` with a captured gpsd session, then keeps the connection open."""

    def __init__(self, session: str, pause_s: float = 0.05) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.session = session.splitlines(keepends=True)
        self.pause_s = pause_s
        self.received = b""
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            self.received = conn.recv(1024)
            try:
                for line in self.session:
                    conn.sendall(line.encode())
                    time.sleep(self.pause_s)
            except OSError:
                return  # the client had its fix and hung up
            self.done.wait(10)

    def close(self) -> None:
        self.done.set()
        self.listener.close()


@pytest.fixture
def replay() -> Iterator[Callable[..., Replay]]:
    servers: list[Replay] = []

    def start(session: str, pause_s: float = 0.05) -> Replay:
        server = Replay(session, pause_s)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.services
def test_replayed_session_gives_fix(replay: Callable[..., Replay]) -> None:
    server = replay(fixture("gpsd-session.jsonl"))
    loc = GpsdLocation(options(port=server.port, timeout_s=5.0)).read()
    assert server.received == b'?WATCH={"enable":true,"json":true}\n'
    assert loc == {
        "lat": 22.61,
        "lon": 105.87,
        "acc_m": 17.1,
        "src": "gpsd",
        "env": "outdoor_fixed",
    }


@pytest.mark.services
def test_fix_without_accuracy_waits_for_the_next_one(replay: Callable[..., Replay]) -> None:
    server = replay(fixture("gpsd-session-rmc-first.jsonl"))
    loc = GpsdLocation(options(port=server.port, env="indoor")).read()
    assert loc == {"lat": 22.61, "lon": 105.87, "acc_m": 17.1, "src": "gpsd", "env": "indoor"}


@pytest.mark.services
def test_fix_without_accuracy_is_used_when_nothing_better_comes(
    replay: Callable[..., Replay],
) -> None:
    session = fixture("gpsd-session-rmc-first.jsonl").splitlines(keepends=True)[:-1]
    server = replay("".join(session))
    started = time.monotonic()
    loc = GpsdLocation(options(port=server.port, timeout_s=30.0)).read()
    assert time.monotonic() - started < 5.0  # the grace period, not the whole timeout
    assert loc == {"lat": 22.61, "lon": 105.87, "src": "gpsd", "env": "outdoor_fixed"}


@pytest.mark.services
def test_no_fix_returns_none_after_timeout(replay: Callable[..., Replay]) -> None:
    server = replay(fixture("gpsd-session-nofix.jsonl"))
    started = time.monotonic()
    assert GpsdLocation(options(port=server.port, timeout_s=1.0)).read() is None
    assert 0.9 < time.monotonic() - started < 3.0


def test_gpsd_not_running() -> None:
    assert GpsdLocation(options(port=free_port(), timeout_s=1.0)).read() is None


# --- gpsd: the real daemon, fed an NMEA log by gpsfake ------------------------------------------


class GpsFake:
    """``gpsfake`` (Debian gpsd-clients) running a private gpsd on a free port."""

    def __init__(self, log: Path, workdir: Path) -> None:
        if shutil.which("gpsfake") is None or shutil.which("gpsd") is None:
            pytest.fail("gpsfake/gpsd not found: apt-get install gpsd gpsd-clients")
        self.port = free_port()
        self.output = workdir / "gpsfake.log"
        with self.output.open("wb") as out:
            # Its own session, so gpsfake and the gpsd it starts can be stopped together.
            self.process = subprocess.Popen(
                ["gpsfake", "-q", "-c", "0.1", "-P", str(self.port), str(log)],
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "TMPDIR": str(workdir)},
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"gpsfake did not start: {self.output.read_text()[-500:]}")

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(3)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture
def gpsfake(tmp_path: Path) -> Iterator[Callable[[str], GpsFake]]:
    started: list[GpsFake] = []

    def start(log: str) -> GpsFake:
        fake = GpsFake(FIXTURES / log, tmp_path)
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.mark.services
def test_real_gpsd_fix(gpsfake: Callable[[str], GpsFake]) -> None:
    daemon = gpsfake("pacnam-fixed.nmea")
    source = create("gpsd", options(source="gpsd", port=daemon.port, timeout_s=10.0))
    loc = source.read()
    assert loc is not None
    assert loc["lat"] == pytest.approx(22.61, abs=1e-6)
    assert loc["lon"] == pytest.approx(105.87, abs=1e-6)
    # gpsd derives eph from HDOP 0.9 in the log.
    assert loc["acc_m"] == pytest.approx(17.1, abs=0.5)
    assert (loc["src"], loc["env"]) == ("gpsd", "outdoor_fixed")


@pytest.mark.services
def test_real_gpsd_without_fix(gpsfake: Callable[[str], GpsFake]) -> None:
    daemon = gpsfake("indoor-nofix.nmea")
    started = time.monotonic()
    assert GpsdLocation(options(port=daemon.port, timeout_s=2.0)).read() is None
    assert time.monotonic() - started < 4.0
    # The None is gpsd saying "no fix", not silence: it does report TPVs with mode 1.
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as sock:
        sock.sendall(b'?WATCH={"enable":true,"json":true}\n')
        received = b""
        tpvs: list[bytes] = []
        while not tpvs:
            received += sock.recv(4096)
            tpvs = [line for line in received.split(b"\n")[:-1] if b'"class":"TPV"' in line]
    assert json.loads(tpvs[0])["mode"] == 1
