"""Quectel AT+QENG parser on real replies, and the source over a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from giamsat.agent.signal import SignalError, SignalReading, create, parse_capture
from giamsat.agent.signal.atport import (
    AtSignal,
    Operator,
    at_command,
    cimi_operator,
    number_at,
    parse_cops,
    records,
    registered_network,
)
from giamsat.agent.signal.operators import sim_operator
from giamsat.agent.signal.quectel import QuectelSignal, parse
from giamsat.contract.config import ConfigError, Section

FIXTURES = Path(__file__).parent / "fixtures" / "signal"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def options(**values: object) -> Section:
    return Section(dict(values), "agent.toml", "signal")


# --- samples from the field (shared/samples) ---------------------------------------------


def test_lte_short_line_spusu() -> None:
    reading = parse(fixture("quectel-qeng-2.txt"))
    assert reading.net == {"service": True, "mcc": 222, "mnc": 88, "tech": "LTE", "state": "NOCONN"}
    assert reading.sig == {
        "cell": "0x243800E",
        "pci": 20,
        "arfcn": 3350,
        "band": "B7",
        "bw_mhz": 20,
        "tac": "0x3AC9",
        "rsrp_dbm": -86,
        "rsrq_db": -13,
        "rssi_dbm": -52,
        "sinr_db": 15,
    }
    assert reading.errors == []


def test_nr_sa_with_space_after_tdd_dito() -> None:
    reading = parse(fixture("quectel-qeng-3.txt"))
    assert reading.net == {
        "service": True,
        "mcc": 515,
        "mnc": 66,
        "tech": "NR-SA",
        "state": "NOCONN",
    }
    assert reading.sig == {
        "cell": "0x100072000",
        "pci": 538,
        "tac": "0x114000",
        "arfcn": 620640,
        "band": "n78",
        "bw_mhz": 100,
        "rsrp_dbm": -109,
        "rsrq_db": -12,
        "sinr_db": 14,
    }


def test_lte_anchor_line_of_nsa_reply_full_layout() -> None:
    reading = parse(fixture("quectel-qeng-6.txt"))
    # No state line in this capture: a serving cell with measurements means camped.
    assert reading.net == {"service": True, "mcc": 262, "mnc": 1, "tech": "LTE"}
    assert reading.sig == {
        "cell": "0x1929500",
        "pci": 321,
        "arfcn": 1300,
        "band": "B3",
        "bw_mhz": 20,
        "tac": "0x34BA",
        "rsrp_dbm": -75,
        "rsrq_db": -7,
        "rssi_dbm": -48,
        "sinr_db": 25,
        "cqi": 15,
        "tx_power_dbm": 10.0,
    }


def test_limited_service_14_value_layout_keeps_signal_and_no_cqi() -> None:
    reading = parse(fixture("quectel-qeng-8.txt"))
    assert reading.net == {
        "service": False,
        "mcc": 460,
        "mnc": 0,
        "tech": "LTE",
        "state": "LIMSRV",
    }
    assert reading.sig == {
        "cell": "0x1F1B320",
        "pci": 420,
        "arfcn": 38950,
        "band": "B40",
        "bw_mhz": 20,
        "tac": "0x4977",
        "rsrp_dbm": -110,
        "rsrq_db": -9,
        "rssi_dbm": -105,
        "sinr_db": 19,
    }
    assert "cqi" not in reading.sig  # the trailing 8 is srxlev
    assert reading.errors[0].startswith("limited_service:")


def test_gsm_with_echo_and_crlf() -> None:
    reading = parse(fixture("quectel-qeng-11.txt"))
    assert reading.net == {
        "service": False,
        "mcc": 432,
        "mnc": 11,
        "tech": "GSM",
        "state": "LIMSRV",
    }
    assert reading.sig == {
        "lac": "0x587",
        "cell": "0x293A",
        "bsic": 31,
        "arfcn": 98,
        "rxlev_dbm": -63,
    }


def test_wcdma() -> None:
    reading = parse(fixture("quectel-qeng-12.txt"))
    assert reading.net["tech"] == "WCDMA"
    assert (reading.net["mcc"], reading.net["mnc"], reading.net["service"]) == (460, 1, False)
    assert reading.sig == {
        "lac": "0xA538",
        "cell": "0x1EB578B",
        "arfcn": 10763,
        "psc": 60,
        "rscp_dbm": -106,
        "ecio_db": -13,
    }


def test_search_state_is_no_service() -> None:
    reading = parse(fixture("quectel-qeng-14.txt"))
    assert reading.net == {"service": False, "state": "SEARCH"}
    assert reading.sig is None
    assert reading.errors == ["no_service: modem state is SEARCH"]


def test_at_cops_1_long_and_numeric() -> None:
    assert parse_cops(fixture("at-cops-1.txt")) == [
        Operator(mcc=None, mnc=None, name="spusu spusu", tech="LTE"),
        Operator(mcc=222, mnc=88, name=None, tech="LTE"),
    ]


def test_at_cops_2_scan_list_and_selected_operator() -> None:
    operators = parse_cops(fixture("at-cops-2.txt"))
    scan = [o for o in operators if o.status is not None]
    assert len(scan) == 11
    assert scan[0] == Operator(452, 4, "Viettel", "LTE", "current")
    assert {(o.mcc, o.mnc, o.name) for o in scan if o.tech == "LTE"} == {
        (452, 4, "Viettel"),
        (452, 1, "VN Mobifone"),
        (452, 2, "VN VINAPHONE"),
    }
    assert {(o.mcc, o.mnc) for o in scan} == {(452, 4), (452, 5), (452, 2), (452, 1)}
    assert [o for o in operators if o.status is None] == [
        Operator(None, None, "Viettel Viettel", "LTE")
    ]


def test_reply_without_qeng_is_a_clear_error() -> None:
    with pytest.raises(SignalError, match=r"no \+QENG record"):
        parse(fixture("at-cops-1.txt"))


# --- our own captures ---------------------------------------------------------------------


def test_nr_nsa_two_lines_sinr_before_rsrq() -> None:
    reading = parse(fixture("quectel-qeng-nsa-rm500q.txt"))
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 2,
        "tech": "NR-NSA",
        "op": "VinaPhone",
        "state": "NOCONN",
    }
    sig = reading.sig or {}
    assert (sig["rsrp_dbm"], sig["rsrq_db"], sig["sinr_db"], sig["pci"]) == (-93, -10, 14, 158)
    assert (sig["band"], sig["arfcn"], sig["tac"], sig["cell"]) == (
        "B3",
        1650,
        "0x3AC9",
        "0x70C3F01",
    )
    assert sig["tx_power_dbm"] == 4.5
    assert {k: v for k, v in sig.items() if k.startswith("nr_")} == {
        "nr_pci": 393,
        "nr_rsrp_dbm": -89,
        "nr_sinr_db": 15,
        "nr_rsrq_db": -11,
        "nr_arfcn": 651840,
        "nr_band": "n78",
        "nr_bw_mhz": 100,
    }


def test_nsa_anchor_without_nr_measurements_is_lte() -> None:
    reading = parse(fixture("quectel-qeng-nsa-idle.txt"))
    assert reading.net["tech"] == "LTE"
    sig = reading.sig or {}
    assert not [k for k in sig if k.startswith("nr_")]
    assert "tx_power_dbm" not in sig  # -32768: not transmitting
    assert sig["cqi"] == 7


def test_rm500q_sa_quoted_in_mmcli_command_output() -> None:
    reading = parse(fixture("quectel-qeng-sa-mmcli.txt"))
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 4,
        "tech": "NR-SA",
        "op": "Viettel",
        "state": "CONNECT",
    }
    assert reading.sig == {
        "cell": "0x5A41EC01D",
        "pci": 211,
        "tac": "0x1F4A2",
        "arfcn": 518910,
        "band": "n41",
        "bw_mhz": 100,
        "rsrp_dbm": -88,
        "rsrq_db": -10,
        "sinr_db": 17,
    }


def test_nsa_multiline_quoted_in_mmcli_command_output() -> None:
    reading = parse(fixture("quectel-qeng-nsa-mmcli.txt"))
    sig = reading.sig or {}
    assert reading.net["tech"] == "NR-NSA"
    assert reading.net["state"] == "CONNECT"
    assert (sig["nr_rsrp_dbm"], sig["nr_sinr_db"], sig["nr_rsrq_db"]) == (-97, 4, -14)
    assert sig["tx_power_dbm"] == 18.0


def test_nsa_sinr_in_tenths_of_a_db_is_scaled() -> None:
    # libqmi pull request 2: an RM500Q in NSA; qmicli gave the NR leg SNR 18.5 dB,
    # RSRP -75 dBm, RSRQ -11 dB while the AT reply printed 180 for its SINR.
    reading = parse(fixture("quectel-qeng-nsa-sinr-tenths.txt"))
    assert reading.net == {"service": True, "mcc": 1, "mnc": 1, "tech": "NR-NSA", "state": "NOCONN"}
    sig = reading.sig or {}
    assert {k: v for k, v in sig.items() if k.startswith("nr_")} == {
        "nr_pci": 500,
        "nr_rsrp_dbm": -75,
        "nr_sinr_db": 18,
        "nr_rsrq_db": -11,
    }
    assert (sig["rsrp_dbm"], sig["sinr_db"]) == (-70, 25)  # the LTE anchor is dB as printed
    assert reading.errors == []


@pytest.mark.parametrize(
    ("printed", "sinr_db"),
    [
        ("15", 15),  # dB, as the manuals say
        ("-23", -23),  # the ends of the SS-SINR reporting range are dB
        ("40", 40),
        ("185", 18.5),  # outside the range: tenths
        ("-50", -5),
        ("400", 40),
        ("401", None),  # not a SINR in dB or in tenths: left out
        ("-32768", None),
    ],
)
def test_nsa_sinr_outside_the_reporting_range_is_read_as_tenths(
    printed: str, sinr_db: float | None
) -> None:
    reading = parse(
        '+QENG: "servingcell","CONNECT"\n'
        '+QENG: "LTE","FDD",452,04,1A24A01,301,1275,3,5,5,3A89,-95,-12,-66,9,10,180,-\n'
        f'+QENG:"NR5G-NSA",452,04,393,-97,{printed},-14,651840,78,12,1\n'
    )
    sig = reading.sig or {}
    assert reading.net["tech"] == "NR-NSA"
    assert sig.get("nr_sinr_db") == sinr_db
    assert (sig["nr_rsrp_dbm"], sig["nr_rsrq_db"]) == (-97, -14)


def test_nr_leg_value_outside_its_range_is_left_out_not_sent() -> None:
    # Ingest refuses a record with an out-of-range value: the reading keeps the rest.
    reading = parse(
        '+QENG: "servingcell","CONNECT"\n'
        '+QENG: "LTE","FDD",452,04,1A24A01,301,1275,3,5,5,3A89,-95,-12,-66,9,10,180,-\n'
        '+QENG:"NR5G-NSA",452,04,1008,-32768,15,-14,651840,78,12,1\n'
    )
    sig = reading.sig or {}
    assert reading.net["tech"] == "NR-NSA"
    assert "nr_rsrp_dbm" not in sig and "nr_pci" not in sig
    assert (sig["nr_sinr_db"], sig["nr_rsrq_db"], sig["rsrp_dbm"]) == (15, -14, -95)
    assert reading.errors == [
        "out_of_range: sig.nr_pci=1008 is outside [0, 1007], left out",
        "out_of_range: sig.nr_rsrp_dbm=-32768 is outside [-156, -31], left out",
    ]


def test_reply_wrapped_after_marker_and_after_comma() -> None:
    reading = parse(fixture("quectel-qeng-lte-wrapped.txt"))
    assert reading.net["op"] == "Viettel"
    assert reading.sig == {
        "cell": "0x1A24A01",
        "pci": 301,
        "arfcn": 1275,
        "band": "B3",
        "bw_mhz": 20,
        "tac": "0x3A89",
        "rsrp_dbm": -100,
        "rsrq_db": -11,
        "rssi_dbm": -71,
        "sinr_db": 6,
        "cqi": 9,
    }


def test_registered_operator_from_cops_overrides_cell_plmn() -> None:
    # A Vietnamobile SIM served by a shared cell that broadcasts Viettel's PLMN first.
    reply = fixture("quectel-qeng-lte-wrapped.txt") + '+COPS: 0,2,"45205",7\r\n\r\nOK\r\n'
    reading = parse(reply)
    assert (reading.net["mcc"], reading.net["mnc"], reading.net["op"]) == (452, 5, "Vietnamobile")


def test_parse_capture_dispatches_to_quectel() -> None:
    assert parse_capture("quectel", fixture("quectel-qeng-3.txt")).net["tech"] == "NR-SA"
    with pytest.raises(SignalError, match="no capture parser"):
        parse_capture("sim", "")


# --- the source over a real pseudo-terminal -------------------------------------------------

COPS_REPLY = 'AT+COPS=3,2;+COPS?\r\r\n+COPS: 0,2,"45202",13\r\n\r\nOK\r\n'


class FakeModem:
    """The far end of a pty, answering AT commands the way a Quectel module does."""

    def __init__(self, replies: dict[str, str | None]) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self.slave = slave  # held open so the pty survives between the source's opens
        self.replies = replies
        self.commands: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self.stop.is_set():
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            pending += chunk
            while b"\r" in pending:
                line, pending = pending.split(b"\r", 1)
                command = line.decode().strip()
                if not command:
                    continue
                self.commands.append(command)
                reply = self.replies.get(command, "ERROR")
                if reply is not None:
                    time.sleep(0.01)
                    # Answer in two pieces, as USB serial does.
                    data = reply.encode()
                    os.write(self.master, data[: len(data) // 2])
                    time.sleep(0.01)
                    os.write(self.master, data[len(data) // 2 :])

    def close(self) -> None:
        self.stop.set()
        os.close(self.slave)
        os.close(self.master)


@pytest.fixture
def modem() -> Iterator[FakeModem]:
    fake = FakeModem(
        {
            'AT+QENG="servingcell"': fixture("quectel-qeng-nsa-rm500q.txt"),
            "AT+COPS=3,2;+COPS?": COPS_REPLY,
            "AT+CIMI": fixture("at-cimi-vinaphone.txt"),
        }
    )
    yield fake
    fake.close()


def test_source_reads_serving_cell_and_operator_over_serial(modem: FakeModem) -> None:
    source = create("quectel", options(source="quectel", port=modem.path, timeout_s=3.0))
    assert isinstance(source, QuectelSignal)
    reading = source.read()
    assert modem.commands == ['AT+QENG="servingcell"', "AT+COPS=3,2;+COPS?", "AT+CIMI"]
    assert reading.errors == []
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 2,
        "tech": "NR-NSA",
        "op": "VinaPhone",
        "sim_op": "VinaPhone",
        "state": "NOCONN",
    }
    assert (reading.sig or {})["nr_rsrp_dbm"] == -89


def test_error_reply_gives_a_reading_with_the_error(modem: FakeModem) -> None:
    modem.replies['AT+QENG="servingcell"'] = 'AT+QENG="servingcell"\r\r\n+CME ERROR: 3\r\n'
    reading = QuectelSignal(options(port=modem.path, timeout_s=3.0)).read()
    assert reading.net == {"service": False}
    assert reading.sig is None
    assert reading.errors == [
        f'modem_failed: {modem.path}: AT+QENG="servingcell" answered +CME ERROR: 3'
    ]


def test_silent_modem_times_out_within_bound(modem: FakeModem) -> None:
    modem.replies['AT+QENG="servingcell"'] = None
    started = time.monotonic()
    reading = QuectelSignal(options(port=modem.path, timeout_s=0.5)).read()
    assert time.monotonic() - started < 2.0
    assert reading.net == {"service": False}
    assert "no final result code" in reading.errors[0]


def test_operator_query_failure_falls_back_to_cell_plmn(modem: FakeModem) -> None:
    modem.replies["AT+COPS=3,2;+COPS?"] = "ERROR\r\n"
    reading = QuectelSignal(options(port=modem.path, timeout_s=3.0)).read()
    assert reading.net["mcc"] == 452 and reading.net["mnc"] == 2
    assert reading.errors[0].startswith("modem_failed:")
    assert "operator taken from the serving cell" in reading.errors[0]


def test_no_sim_is_reported_and_the_reading_kept(modem: FakeModem) -> None:
    modem.replies["AT+CIMI"] = "AT+CIMI\r\r\n+CME ERROR: 10\r\n"  # SIM not inserted
    reading = QuectelSignal(options(port=modem.path, timeout_s=3.0)).read()
    assert reading.net["op"] == "VinaPhone" and "sim_op" not in reading.net
    assert reading.errors == [
        f"modem_failed: {modem.path}: AT+CIMI answered +CME ERROR: 10 "
        "(the SIM's operator is unknown)"
    ]


def test_unreadable_reply_raises(modem: FakeModem) -> None:
    modem.replies['AT+QENG="servingcell"'] = "\r\nOK\r\n"
    with pytest.raises(SignalError, match=r"no \+QENG record"):
        QuectelSignal(options(port=modem.path, timeout_s=3.0)).read()


def test_missing_port() -> None:
    reading = QuectelSignal(options(port="/dev/nonexistent-giamsat-tty")).read()
    assert reading.net == {"service": False}
    assert reading.errors[0].startswith("modem_failed: /dev/nonexistent-giamsat-tty: cannot open")


def test_at_command_returns_reply_through_ok(modem: FakeModem) -> None:
    reply = at_command(modem.path, "AT+COPS=3,2;+COPS?", timeout_s=3.0)
    assert '+COPS: 0,2,"45202",13' in reply
    assert reply.rstrip().endswith("OK")


def test_another_at_modem_is_its_command_and_parser_on_the_shared_port(modem: FakeModem) -> None:
    """A SIMCom-like modem: its own serving-cell command; the port, +COPS and +CIMI are shared."""

    class Cpsi(AtSignal):
        command = "AT+CPSI?"

        def parse_reply(self, reply: str) -> SignalReading:
            values = records(reply, "+CPSI:")[0]
            mcc, mnc, op = registered_network(reply)
            rsrp = number_at(values, 11)
            net = {"service": values[1] == "Online", "mcc": mcc, "mnc": mnc, "op": op}
            net["sim_op"] = cimi_operator(reply)
            return SignalReading(net=net, sig={"rsrp_dbm": None if rsrp is None else rsrp / 10})

    modem.replies["AT+CPSI?"] = (
        "AT+CPSI?\r\r\n+CPSI: LTE,Online,452-02,0x3AC9,118038273,158,EUTRAN-BAND3,1650,5,5,"
        "-100,-930,-630,14\r\n\r\nOK\r\n"
    )
    reading = Cpsi(options(port=modem.path, timeout_s=3.0)).read()
    assert modem.commands == ["AT+CPSI?", "AT+COPS=3,2;+COPS?", "AT+CIMI"]
    assert reading.net == {
        "service": True,
        "mcc": 452,
        "mnc": 2,
        "op": None,
        "sim_op": "VinaPhone",
    }
    assert reading.sig == {"rsrp_dbm": -93.0}
    assert reading.errors == []


def test_bad_baudrate_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"signal\.baudrate"):
        QuectelSignal(options(baudrate=12345))


# --- the source through mmcli --command -------------------------------------------------------


def fake_mmcli(directory: Path, script: str) -> None:
    directory.mkdir(exist_ok=True)
    path = directory / "mmcli"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_source_via_mmcli_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    (tmp_path / "qeng.txt").write_text(fixture("quectel-qeng-nsa-mmcli.txt"))
    (tmp_path / "cimi.txt").write_text(fixture("at-cimi-mobifone-mmcli.txt"))
    fake_mmcli(
        bin_dir,
        f'echo "$@" >> {tmp_path}/calls\n'
        'case "$3" in\n'
        f"  --command=AT+QENG=*) cat {tmp_path}/qeng.txt ;;\n"
        '  --command=AT+COPS*) echo "response: \'+COPS: 0,2,\\"45202\\",13\'" ;;\n'
        f"  --command=AT+CIMI) cat {tmp_path}/cimi.txt ;;\n"
        "  *) echo 'error: unexpected' >&2; exit 1 ;;\n"
        "esac\n",
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    reading = QuectelSignal(options(via="mmcli", modem="0")).read()
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        '-m 0 --command=AT+QENG="servingcell"',
        "-m 0 --command=AT+COPS=3,2;+COPS?",
        "-m 0 --command=AT+CIMI",
    ]
    assert reading.errors == []
    assert reading.net["tech"] == "NR-NSA"
    assert reading.net["sim_op"] == "MobiFone"  # a MobiFone SIM roaming on VinaPhone
    assert (reading.net["mcc"], reading.net["mnc"]) == (452, 2)


def test_mmcli_command_refused_outside_debug_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_mmcli(
        tmp_path / "bin",
        "echo \"error: couldn't send command: 'GDBus.Error:org.freedesktop.ModemManager1.Error"
        ".Core.Unauthorized: Operation only allowed in debug mode'\" >&2\nexit 1\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    reading = QuectelSignal(options(via="mmcli")).read()
    assert reading.net == {"service": False}
    assert "only allowed in debug mode" in reading.errors[0]


@pytest.mark.parametrize(
    ("cimi", "operator"),
    [
        ("at-cimi-viettel.txt", "Viettel"),
        ("at-cimi-vinaphone.txt", "VinaPhone"),
        ("at-cimi-mobifone-mmcli.txt", "MobiFone"),
    ],
)
def test_no_service_reading_names_the_sims_operator_from_cimi(cimi: str, operator: str) -> None:
    reading = parse(fixture("quectel-qeng-14.txt") + "\n" + fixture(cimi))
    assert reading.net == {"service": False, "state": "SEARCH", "sim_op": operator}
    imsi = re.search(r"\d{15}", fixture(cimi)).group()
    assert imsi not in repr(reading)  # the subscriber's identity is not kept


def test_sim_operator_needs_a_known_unambiguous_imsi() -> None:
    assert sim_operator("452040123456789") == "Viettel"
    assert sim_operator("452990123456789") is None  # not an operator we know
    assert sim_operator("45204") is None  # too short to be an IMSI
    assert sim_operator("ERROR") is None


def test_the_generic_and_huawei_sources_over_the_same_pseudo_terminal(modem: FakeModem) -> None:
    """Any 3GPP modem (+CESQ, +CEREG) and a Huawei one (^HCSQ, ^SYSINFOEX), asked over serial."""
    from giamsat.agent.signal.at import GenericAtSignal
    from giamsat.agent.signal.huawei import HuaweiSignal

    modem.replies["AT+CESQ;+CEREG?"] = (
        'AT+CESQ;+CEREG?\r\r\n+CESQ: 99,99,255,255,20,60\r\n+CEREG: 2,1,"3AC9","243800E",7\r\n'
        "\r\nOK\r\n"
    )
    modem.replies["AT^HCSQ?;^SYSINFOEX"] = (
        'AT^HCSQ?;^SYSINFOEX\r\r\n^HCSQ: "LTE",45,34,106,19\r\n'
        '^SYSINFOEX: 2,3,0,1,,6,"LTE",101,"LTE"\r\n\r\nOK\r\n'
    )
    generic = GenericAtSignal(options(port=modem.path, timeout_s=3.0)).read()
    assert modem.commands == ["AT+CESQ;+CEREG?", "AT+COPS=3,2;+COPS?", "AT+CIMI"]
    assert generic.net["service"] is True and generic.net["tech"] == "LTE"
    assert generic.sig == {"rsrq_db": -9.5, "rsrp_dbm": -80} and generic.errors == []
    huawei = HuaweiSignal(options(port=modem.path, timeout_s=3.0)).read()
    assert modem.commands[3] == "AT^HCSQ?;^SYSINFOEX"
    assert huawei.sig == {"rssi_dbm": -76, "rsrp_dbm": -106, "sinr_db": 1.2, "rsrq_db": -10.5}
    assert huawei.net["service"] is True and huawei.net["sim_op"] == "VinaPhone"
