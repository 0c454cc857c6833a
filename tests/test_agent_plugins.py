"""The plug-in registry: what it lists, what an unknown name says, and a module dropped in."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from giamsat.agent import cli, location, plugins, settings, signal, throughput
from giamsat.agent.probe import Probe
from giamsat.agent.signal import capture_sources, parse_capture
from giamsat.contract.config import ConfigError, Section
from tests.support.processes import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "signal"
KINDS = ("signal", "location", "latency", "throughput")

FAKE_MODEM = '''
"""A modem type that did not exist when the agent was written."""

from giamsat.agent import plugins
from giamsat.agent.signal import SignalReading
from giamsat.contract.config import Section


def parse(text: str) -> SignalReading:
    return SignalReading(net={"service": True}, sig={"rsrp_dbm": int(text.split("=")[1])})


@plugins.register("signal", "fakemodem", capture=parse)
class FakeModem:
    def __init__(self, options: Section) -> None:
        self.rsrp_dbm = options.int("rsrp_dbm", -100)

    def read(self) -> SignalReading:
        return parse(f"rsrp={self.rsrp_dbm}")
'''


@pytest.fixture
def drop_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], None]]:
    """Write modules into a folder that is part of the signal package, as if installed there.

    The registry and the package are restored afterwards, so the modules
    written here are not seen by other tests.
    """
    for kind in KINDS:
        plugins.names(kind)  # what exists before the test is registered before the copy
    monkeypatch.setattr(plugins, "_registry", {k: dict(v) for k, v in plugins._registry.items()})
    monkeypatch.setattr(plugins, "_broken", {k: dict(v) for k, v in plugins._broken.items()})
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.setattr(signal, "__path__", [*signal.__path__, str(folder)])
    written: list[str] = []

    def write(name: str, source: str) -> None:
        (folder / f"{name}.py").write_text(source)
        written.append(name)

    yield write
    for name in written:
        sys.modules.pop(f"giamsat.agent.signal.{name}", None)


def test_the_registry_lists_every_plugin() -> None:
    assert plugins.names("signal") == ("at", "huawei", "mmcli", "quectel", "sim", "termux")
    assert plugins.names("location") == ("gpsd", "static", "termux")
    # In the order latency's "auto" tries them.
    assert plugins.names("latency") == ("icmp-raw", "icmp-dgram", "tcp")
    assert plugins.names("throughput") == ("giamsat-http", "speedtest-cli")
    assert capture_sources() == ("at", "huawei", "mmcli", "quectel", "termux")


def test_plugins_that_report_their_name_report_the_registered_one() -> None:
    """Throughput results and latency sections carry the method's name: it is the registered one."""
    for plugin in plugins.available("throughput"):
        method: Any = plugin.factory
        assert method.name == plugin.name
    for plugin in plugins.available("latency"):
        pinger: Any = plugin.factory
        assert pinger.method == plugin.name


def test_unknown_names_are_config_errors_naming_the_key_and_the_known_names() -> None:
    with pytest.raises(ConfigError) as err:
        location.create("galileo", Section({}, "agent.toml", "location"))
    assert str(err.value) == (
        "agent.toml: location.source: unknown location source 'galileo' (gpsd, static, termux)"
    )
    with pytest.raises(ConfigError) as err:
        throughput.create("iperf", Section({}, "agent.toml", "throughput"))
    assert str(err.value) == (
        "agent.toml: throughput.method: unknown throughput method 'iperf' "
        "(giamsat-http, speedtest-cli)"
    )


def test_unknown_signal_source_is_reported_by_the_agent(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[probe]\nid = "p1"\ndata_dir = "{tmp_path / "data"}"\n'
        '[signal]\nsource = "nokia3310"\n[location]\nlat = 22.0\nlon = 105.0\n'
        '[throughput]\nurl = "http://127.0.0.1:9"\n'
    )
    with pytest.raises(ConfigError, match="unknown signal source"):
        Probe(settings.load(config))
    result = run_cli("giamsat-agent", "once", "--config", str(config), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"giamsat-agent: error: {config}: signal.source: "
        "unknown signal source 'nokia3310' (at, huawei, mmcli, quectel, sim, termux)"
    )


def test_a_module_dropped_into_the_package_is_a_source_with_no_other_edit(
    drop_in: Callable[[str, str], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "fakemodem" not in plugins.names("signal")
    drop_in("fake_modem", FAKE_MODEM)
    source = signal.create("fakemodem", Section({"rsrp_dbm": -87}, "agent.toml", "signal"))
    assert source.read().sig == {"rsrp_dbm": -87}
    assert "fakemodem" in plugins.names("signal")
    assert "fakemodem" in capture_sources()
    assert parse_capture("fakemodem", "rsrp=-90").sig == {"rsrp_dbm": -90}
    capture = tmp_path / "capture.txt"
    capture.write_text("rsrp=-101")
    assert cli.main(["signal", "--source", "fakemodem", "--from-file", str(capture)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "net": {"service": True},
        "sig": {"rsrp_dbm": -101},
    }


def test_a_module_that_cannot_be_imported_is_named_and_spares_the_others(
    drop_in: Callable[[str, str], None],
) -> None:
    drop_in("brokenmodem", "import giamsat_no_such_module\n")
    with pytest.raises(ConfigError) as err:
        signal.create("brokenmodem", Section({}, "agent.toml", "signal"))
    assert str(err.value) == (
        "agent.toml: signal.source: unknown signal source 'brokenmodem' "
        "(at, huawei, mmcli, quectel, sim, termux; brokenmodem not loaded: "
        "ModuleNotFoundError: No module named 'giamsat_no_such_module')"
    )
    assert signal.create("sim", Section({}, "agent.toml", "signal")).read().net


def test_two_modules_cannot_claim_one_name(drop_in: Callable[[str, str], None]) -> None:
    drop_in("copycat", FAKE_MODEM.replace('"fakemodem"', '"sim"'))
    with pytest.raises(ValueError, match=r"signal plug-in 'sim' registered twice"):
        plugins.find("signal", "copycat")


def test_discovery_imports_no_heavy_optional_module() -> None:
    """Every plug-in of every kind is registered, and scapy and speedtest stay unloaded."""
    code = (
        "import sys\n"
        "from giamsat.agent import plugins\n"
        f"print(sum(len(plugins.names(k)) for k in {KINDS!r}))\n"
        "print(sorted(m for m in ('scapy', 'speedtest') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["14", "[]"]


def test_a_probe_loads_only_its_own_source() -> None:
    """Looking one source up by name imports its module, not every other modem's."""
    code = (
        "import sys\n"
        "from giamsat.agent import cli, signal\n"
        "from giamsat.contract.config import Section\n"
        "cli.build_parser()\n"
        "signal.create('sim', Section({}, 'agent.toml', 'signal'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('giamsat.agent.signal.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['giamsat.agent.signal.operators', 'giamsat.agent.signal.sim']"


CAPTURES = [
    (source, path.name)
    for source in capture_sources()
    for path in sorted(FIXTURES.glob(f"{source}-*"))
]


def test_every_source_with_a_capture_parser_has_fixtures() -> None:
    assert {source for source, _ in CAPTURES} == set(capture_sources())


@pytest.mark.parametrize(("source", "name"), CAPTURES)
def test_signal_command_parses_every_fixture(source: str, name: str) -> None:
    """``giamsat-agent signal`` prints what the parser reads, or says why it cannot."""
    path = FIXTURES / name
    result = run_cli(
        "giamsat-agent", "signal", "--source", source, "--from-file", str(path), check=False
    )
    try:
        reading = parse_capture(source, path.read_text(errors="replace"))
    except signal.SignalError as exc:
        # A file that is not a capture on its own (termux deviceinfo alone).
        assert (result.returncode, result.stderr.strip()) == (2, f"giamsat-agent: error: {exc}")
        return
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["net"] == reading.net and printed["sig"] == reading.sig
    assert isinstance(printed["net"]["service"], bool)
