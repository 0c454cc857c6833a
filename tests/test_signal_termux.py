"""Termux:API cell info parser on real and captured output, and the source with fake commands."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from giamsat.agent.signal import SignalError, create, parse_capture
from giamsat.agent.signal.termux import TermuxSignal, parse
from giamsat.contract.config import Section

FIXTURES = Path(__file__).parent / "fixtures" / "signal"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_sample_with_elision_line_is_tolerated() -> None:
    # termux-api PR #775 trimmed the paste with a literal "..." line; the cell left is a neighbour.
    reading = parse(fixture("termux-cellinfo-1.json"))
    assert reading.net == {"service": False}
    assert reading.sig is None
    assert reading.neighbours == [
        {
            "rsrp_dbm": -107,
            "rsrq_db": -18,
            "rssi_dbm": -77,
            "pci": 158,
            "band": "B1",
            "arfcn": 500,
            "tech": "LTE",
        }
    ]
    assert [e.split(":")[0] for e in reading.errors] == ["cellinfo_elided", "no_service"]


def test_empty_list_means_no_cells_visible() -> None:
    reading = parse(fixture("termux-cellinfo-empty.json"))
    assert reading.net == {"service": False}
    assert reading.sig is None
    assert len(reading.errors) == 1
    assert reading.errors[0].startswith("no_cells_visible:")


def test_empty_list_with_deviceinfo_still_knows_the_network() -> None:
    reading = parse(
        fixture("termux-cellinfo-empty.json"), fixture("termux-deviceinfo-vinaphone.json")
    )
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 2,
        "tech": "LTE",
        "op": "VinaPhone",
        "state": "connected",
        "sim_op": "VinaPhone",
    }
    assert reading.sig is None
    assert reading.errors[0].startswith("no_cells_visible:")


def test_registered_lte_cell_is_serving_and_sentinels_vanish() -> None:
    reading = parse(fixture("termux-cellinfo-viettel-lte.json"))
    assert reading.net == {"service": True, "mcc": 452, "mnc": 4, "tech": "LTE", "op": "Viettel"}
    assert reading.sig == {
        "rsrp_dbm": -100,
        "rsrq_db": -11,
        "rssi_dbm": -71,
        "pci": 301,
        "cell": "0x1A24A01",
        "tac": "0x3A89",
        "band": "B3",
    }
    assert reading.neighbours == [
        {"rsrp_dbm": -110, "rsrq_db": -15, "rssi_dbm": -79, "pci": 158, "tech": "LTE"},
        {"rsrq_db": -19, "pci": 44, "tech": "LTE"},  # dbm 2147483647 and no rsrp: left out
    ]
    assert reading.errors == []


def test_nr_nsa_from_anchor_and_measured_nr_leg() -> None:
    reading = parse(
        fixture("termux-cellinfo-nsa.json"), fixture("termux-deviceinfo-vinaphone.json")
    )
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 2,
        "tech": "NR-NSA",
        "op": "VinaPhone",
        "state": "connected",
        "sim_op": "VinaPhone",
    }
    assert reading.sig == {
        "rsrp_dbm": -93,
        "rsrq_db": -10,
        "rssi_dbm": -63,
        "pci": 158,
        "cell": "0x70C3F01",
        "tac": "0x3AC9",
        "band": "B3",
        "nr_rsrp_dbm": -89,
        "nr_rsrq_db": -11,
        "nr_sinr_db": 15,
        "nr_pci": 393,
        "nr_band": "n78",
    }
    assert [n["pci"] for n in reading.neighbours] == [97]


def test_capture_file_with_cellinfo_then_deviceinfo() -> None:
    via_capture = parse_capture("termux", fixture("termux-capture-nsa.txt"))
    direct = parse(fixture("termux-cellinfo-nsa.json"), fixture("termux-deviceinfo-vinaphone.json"))
    assert via_capture == direct


def test_nr_sa_registered_nr_cell() -> None:
    reading = parse(
        fixture("termux-cellinfo-nr-sa.json"), fixture("termux-deviceinfo-viettel-nr.json")
    )
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 4,
        "tech": "NR-SA",
        "op": "Viettel",
        "state": "connected",
        "sim_op": "Viettel",
    }
    assert reading.sig == {
        "rsrp_dbm": -88,
        "rsrq_db": -10,
        "sinr_db": 17,
        "pci": 211,
        "cell": "0x5A41EC01D",
        "tac": "0x1F4A2",
        "band": "n41",
    }


def test_wcdma_serving_cell() -> None:
    reading = parse(fixture("termux-cellinfo-wcdma.json"))
    assert reading.net == {"service": True, "mcc": 452, "mnc": 1, "tech": "WCDMA", "op": "MobiFone"}
    assert reading.sig == {"rscp_dbm": -89, "cell": "0x1900406", "lac": "0x32CC", "psc": 187}
    assert reading.neighbours == [{"rscp_dbm": -103, "psc": 212, "tech": "WCDMA"}]


def test_cells_heard_but_not_registered_with_deviceinfo() -> None:
    reading = parse(fixture("termux-cellinfo-1.json"), fixture("termux-deviceinfo-no-service.json"))
    # A Vietnamobile SIM heard cells but registered nowhere: the dead zone is Vietnamobile's.
    assert reading.net == {"service": False, "state": "disconnected", "sim_op": "Vietnamobile"}
    assert "no_service: cells are heard but none is registered" in reading.errors


def test_not_json_is_a_clear_error() -> None:
    with pytest.raises(SignalError, match="termux-telephony-cellinfo: output is not JSON"):
        parse("Termux:API is not installed\n")
    with pytest.raises(SignalError, match="array of cell objects"):
        parse('{"type": "lte"}')


# --- the source, with the Termux:API commands replaced by scripts printing captures ----------


def install(directory: Path, name: str, body: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent (here, init) to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def options(**values: object) -> Section:
    return Section(dict(values), "agent.toml", "signal")


def test_source_runs_both_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    install(bin_dir, "termux-telephony-cellinfo", f"cat {FIXTURES / 'termux-cellinfo-nsa.json'}\n")
    install(
        bin_dir,
        "termux-telephony-deviceinfo",
        f"cat {FIXTURES / 'termux-deviceinfo-vinaphone.json'}\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    source = create("termux", options(source="termux"))
    assert isinstance(source, TermuxSignal)
    reading = source.read()
    assert reading.net["tech"] == "NR-NSA"
    assert reading.net["op"] == "VinaPhone"
    assert reading.errors == []


def test_missing_termux_api_gives_errors_not_exceptions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    reading = TermuxSignal(options()).read()
    assert reading.net == {"service": False}
    assert [e.split(":")[0] for e in reading.errors] == ["command_failed", "command_failed"]
    assert "termux-telephony-cellinfo: cannot run" in reading.errors[1]


def test_hanging_command_is_killed_with_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Like the real scripts: the shell starts a helper that keeps stdout open, then waits.
    bin_dir = tmp_path / "bin"
    pid_file = tmp_path / "helper.pid"
    install(bin_dir, "termux-telephony-cellinfo", f"sleep 60 &\necho $! > {pid_file}\nwait\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    started = time.monotonic()
    reading = TermuxSignal(options(timeout_s=1.0, deviceinfo=False)).read()
    assert time.monotonic() - started < 5.0
    assert reading.errors == ["command_failed: termux-telephony-cellinfo: no answer within 1 s"]
    helper = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while running(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(helper), "the helper process outlived the timeout"


def test_failing_deviceinfo_still_reads_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    install(
        bin_dir,
        "termux-telephony-cellinfo",
        f"cat {FIXTURES / 'termux-cellinfo-viettel-lte.json'}\n",
    )
    install(bin_dir, "termux-telephony-deviceinfo", "echo 'permission denied' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    reading = TermuxSignal(options()).read()
    assert reading.net["op"] == "Viettel"
    assert reading.errors == ["command_failed: termux-telephony-deviceinfo: permission denied"]
