"""ModemManager parser on real and captured mmcli output, and the source with a fake mmcli."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from giamsat.agent.signal import SignalError, create, parse_capture
from giamsat.agent.signal.mmcli import MmcliSignal, parse
from giamsat.contract.config import Section

FIXTURES = Path(__file__).parent / "fixtures" / "signal"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# --- samples from the field (shared/samples) ---------------------------------------------


def test_signal_1_values_are_strings_and_dashes_vanish() -> None:
    reading = parse(fixture("mmcli-signal-1.json"))
    # LTE and 5G both measured, no status captured: an NR leg beside LTE is NR-NSA.
    assert reading.net == {"service": True, "tech": "NR-NSA"}
    assert reading.sig == {"rsrp_dbm": -104, "sinr_db": 2, "nr_rsrq_db": -14}
    assert reading.errors == []


def test_signal_2_polling_off_says_signal_setup_is_needed() -> None:
    reading = parse(fixture("mmcli-signal-2.json"))
    assert reading.sig is None
    assert reading.net == {"service": False}
    assert len(reading.errors) == 1
    assert reading.errors[0].startswith("signal_polling_off:")
    assert "--signal-setup" in reading.errors[0]


def test_status_2_with_six_leading_spaces() -> None:
    reading = parse(fixture("mmcli-status-2.txt"))
    assert reading.net == {
        "service": True,
        "mcc": 311,
        "mnc": 480,
        "tech": "LTE",
        "op": "Verizon",
        "state": "connected",
    }
    assert reading.sig is None


def test_location_2_serving_cell_ids() -> None:
    reading = parse(fixture("mmcli-location-2.txt"))
    assert reading.net == {"service": True, "mcc": 310, "mnc": 410}
    # LAC 0000 is reserved (3GPP TS 23.003): ModemManager prints it when the cell has none.
    assert reading.sig == {"cell": "0x4BCFDB7", "tac": "0x8308"}


def test_samples_combined_in_one_capture() -> None:
    text = "\n".join(
        fixture(name)
        for name in ("mmcli-status-2.txt", "mmcli-signal-1.json", "mmcli-location-2.txt")
    )
    reading = parse_capture("mmcli", text)
    assert reading.net == {
        "service": True,
        "mcc": 311,
        "mnc": 480,
        "tech": "NR-NSA",
        "op": "Verizon",
        "state": "connected",
    }
    assert reading.sig == {
        "rsrp_dbm": -104,
        "sinr_db": 2,
        "nr_rsrq_db": -14,
        "cell": "0x4BCFDB7",
        "tac": "0x8308",
    }


# --- our own captures ---------------------------------------------------------------------


def test_nr_sa_from_json_status_signal_and_location() -> None:
    reading = parse(
        fixture("mmcli-status-5gnr.json"),
        fixture("mmcli-signal-5g.json"),
        fixture("mmcli-location-5g.json"),
    )
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 4,
        "tech": "NR-SA",
        "op": "Viettel",
        "state": "connected",
    }
    assert reading.sig == {
        "rsrp_dbm": -88,
        "rsrq_db": -10,
        "sinr_db": 17.5,
        "cell": "0x5A41EC01D",
        "tac": "0x1F4A2",
    }


def test_nr_nsa_from_text_outputs() -> None:
    reading = parse(
        fixture("mmcli-status-nsa.txt"),
        fixture("mmcli-signal-nsa.txt"),
        fixture("mmcli-location-nsa.txt"),
    )
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 2,
        "tech": "NR-NSA",
        "op": "VinaPhone",
        "state": "connected",
    }
    assert reading.sig == {
        "rsrp_dbm": -93,
        "rsrq_db": -10,
        "sinr_db": 14.2,
        "rssi_dbm": -63,
        "nr_rsrp_dbm": -89,
        "nr_rsrq_db": -11,
        "nr_sinr_db": 15,
        "cell": "0x70C3F01",
        "tac": "0x3AC9",
    }


def test_location_with_older_labels() -> None:
    reading = parse(fixture("mmcli-location-old-labels.txt"))
    assert reading.net == {"service": True, "mcc": 452, "mnc": 4, "op": "Viettel"}
    assert reading.sig == {"cell": "0x1A24A01", "tac": "0x3A89"}


def test_searching_modem_has_no_service() -> None:
    reading = parse(fixture("mmcli-status-searching.txt"), fixture("mmcli-signal-2.json"))
    assert reading.net == {"service": False, "state": "searching"}
    assert reading.sig is None
    assert [e.split(":")[0] for e in reading.errors] == ["no_service", "signal_polling_off"]


def test_sim_names_whose_dead_zone_it_is() -> None:
    reading = parse(fixture("mmcli-status-searching.txt"), fixture("mmcli-sim-vietnamobile.txt"))
    assert reading.net == {"service": False, "state": "searching", "sim_op": "Vietnamobile"}
    assert parse(fixture("mmcli-sim.json")).net == {"service": False, "sim_op": "Viettel"}


def test_unrecognised_output_is_a_clear_error() -> None:
    with pytest.raises(SignalError, match="no modem status, signal, location or SIM"):
        parse("error: couldn't find modem\n")
    with pytest.raises(SignalError, match="looks like JSON but is not"):
        parse('{"modem": {"signal": ')


# --- the source, with mmcli replaced by a script that prints captures -----------------------


def options(**values: object) -> Section:
    return Section(dict(values), "agent.toml", "signal")


@pytest.fixture
def fake_mmcli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An mmcli that logs its arguments and answers from files the test can swap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    answers = tmp_path / "answers"
    answers.mkdir()
    for name, source in (
        ("status", "mmcli-status-5gnr.json"),
        ("signal", "mmcli-signal-5g.json"),
        ("location", "mmcli-location-5g.json"),
        ("sim", "mmcli-sim.json"),
    ):
        (answers / name).write_text(fixture(source))
    script = bin_dir / "mmcli"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path}/calls\n'
        'case "$*" in\n'
        f"  -i\\ *) cat {answers}/sim ;;\n"
        '  *--signal-setup=*) echo "successfully setup signal refresh rate" ;;\n'
        f"  *--signal-get*) cat {answers}/signal ;;\n"
        f"  *--location-get*) cat {answers}/location || exit 1 ;;\n"
        f"  *) cat {answers}/status ;;\n"
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return tmp_path


def calls(directory: Path) -> list[str]:
    return (directory / "calls").read_text().splitlines()


def test_source_sets_up_polling_once_then_reads(fake_mmcli: Path) -> None:
    source = create("mmcli", options(source="mmcli", refresh_s=5))
    assert isinstance(source, MmcliSignal)
    first = source.read()
    second = source.read()
    assert first == second
    assert first.net == {
        "service": True,
        "mcc": 452,
        "mnc": 4,
        "tech": "NR-SA",
        "op": "Viettel",
        "state": "connected",
        "sim_op": "Viettel",
    }
    assert first.sig == {
        "rsrp_dbm": -88,
        "rsrq_db": -10,
        "sinr_db": 17.5,
        "cell": "0x5A41EC01D",
        "tac": "0x1F4A2",
    }
    assert calls(fake_mmcli) == [
        "-m any --signal-setup=5",
        "-m any --output-json",
        "-m any --signal-get --output-json",
        "-m any --location-get --output-json",
        "-i /org/freedesktop/ModemManager1/SIM/0 --output-json",
        "-m any --output-json",
        "-m any --signal-get --output-json",
        "-m any --location-get --output-json",
    ]


def test_source_redoes_setup_after_polling_was_reset(fake_mmcli: Path) -> None:
    source = MmcliSignal(options())
    (fake_mmcli / "answers" / "signal").write_text(fixture("mmcli-signal-2.json"))
    reading = source.read()
    assert reading.errors[0].startswith("signal_polling_off:")
    (fake_mmcli / "answers" / "signal").write_text(fixture("mmcli-signal-5g.json"))
    assert source.read().errors == []
    setups = [c for c in calls(fake_mmcli) if "--signal-setup" in c]
    assert setups == ["-m any --signal-setup=10", "-m any --signal-setup=10"]


def test_location_failure_only_loses_cell_ids(fake_mmcli: Path) -> None:
    (fake_mmcli / "answers" / "location").unlink()
    reading = MmcliSignal(options()).read()
    assert reading.net["tech"] == "NR-SA"
    assert reading.sig == {"rsrp_dbm": -88, "rsrq_db": -10, "sinr_db": 17.5}
    assert len(reading.errors) == 1 and reading.errors[0].startswith("command_failed: mmcli:")


def test_no_modemmanager_gives_errors_not_exceptions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mmcli"
    script.write_text(
        '#!/bin/sh\necho "error: couldn\'t find the ModemManager process in the bus" >&2\nexit 1\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    reading = MmcliSignal(options(modem="3")).read()
    assert reading.net == {"service": False}
    assert reading.errors == [
        "command_failed: mmcli: error: couldn't find the ModemManager process in the bus",
        "command_failed: mmcli: error: couldn't find the ModemManager process in the bus",
    ]
