"""The generic 3GPP AT source and the Huawei source, on real captures and on edge values."""

from __future__ import annotations

from pathlib import Path

import pytest

from giamsat.agent.signal import SignalError, parse_capture
from giamsat.agent.signal.at import cesq
from giamsat.agent.signal.huawei import hcsq

FIXTURES = Path(__file__).parent / "fixtures" / "signal"


def test_cesq_capture_gives_the_readme_s_values() -> None:
    """at-cesq-2: 99,99,255,255,15,39 on an nRF9160 board; no registration report."""
    reading = parse_capture("at", (FIXTURES / "at-cesq-2.txt").read_text())
    assert reading.sig == {"rsrq_db": -12.0, "rsrp_dbm": -101}  # n/2 - 19.5, n - 140
    assert reading.net == {"service": True, "tech": "LTE"}
    assert reading.errors == ["no_registration_report: service taken from the +CESQ measurements"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("99,99,255,255,255,255", {}),  # nothing known
        ("0,0,0,0,0,0", {"rssi_dbm": -111, "rscp_dbm": -121, "ecio_db": -24.5,
                         "rsrq_db": -19.5, "rsrp_dbm": -140}),
        ("63,7,96,49,34,97", {"rssi_dbm": -48, "rscp_dbm": -25, "ecio_db": 0.0,
                              "rsrq_db": -2.5, "rsrp_dbm": -43}),
        ("64,8,97,50,35,98", {}),  # one past each range: not a measurement
        ("99,99,255,255,20,60,255,255,255", {"rsrq_db": -9.5, "rsrp_dbm": -80}),
        ("99,99,255,255,20,60,40,70,80", {"rsrq_db": -9.5, "rsrp_dbm": -80,
                                           "nr_rsrq_db": -23.0, "nr_rsrp_dbm": -86,
                                           "nr_sinr_db": 17.0}),
        ("99,99,255,255,255,255,0,0,0", {"nr_rsrq_db": -43.0, "nr_rsrp_dbm": -156,
                                          "nr_sinr_db": -23.0}),
        ("99,99,255,255,255,255,126,126,126", {"nr_rsrq_db": 20.0, "nr_rsrp_dbm": -30,
                                               "nr_sinr_db": 40.0}),
    ],
)  # fmt: skip
def test_cesq_indices_become_units(values: str, expected: dict[str, float]) -> None:
    assert cesq(values.split(",")) == expected


def test_an_index_off_the_scale_is_left_out_with_an_error() -> None:
    """SS-RSRQ 127 and SS-SINR 127 mean "above the scale": 20.5 dB and 40.5 dB are no
    measurement ingest accepts, and a record carrying one would be refused whole."""
    reply = '+CESQ: 99,99,255,255,20,60,127,70,127\n+CEREG: 1,1,"3AC9","243800E",13\nOK'
    reading = parse_capture("at", reply)
    assert reading.sig == {"rsrq_db": -9.5, "rsrp_dbm": -80, "nr_rsrp_dbm": -86}
    assert reading.errors == [
        "out_of_range: sig.nr_rsrq_db=20.5 is outside [-43, 20], left out",
        "out_of_range: sig.nr_sinr_db=40.5 is outside [-23, 40], left out",
    ]


def test_registration_technology_and_operator_from_cereg_and_cops() -> None:
    reply = (
        'AT+CESQ;+CEREG?\r\n+CESQ: 99,99,255,255,20,60\r\n+CEREG: 2,5,"3AC9","243800E",7\r\n'
        'OK\r\n+COPS: 0,2,"45204",7\r\nOK\r\n452041234567890\r\nOK\r\n'
    )
    reading = parse_capture("at", reply)
    assert reading.net == {"service": True, "mcc": 452, "mnc": 4, "tech": "LTE",
                           "op": "Viettel", "sim_op": "Viettel"}  # fmt: skip
    assert reading.sig == {"rsrq_db": -9.5, "rsrp_dbm": -80} and reading.errors == []


def test_not_registered_is_no_service_and_keeps_the_sim_operator() -> None:
    reply = "+CESQ: 99,99,255,255,5,10\n+CEREG: 2,2\nOK\n+COPS: 0\nOK\n452021234567890\nOK"
    reading = parse_capture("at", reply)
    assert reading.net == {"service": False, "sim_op": "VinaPhone"}
    assert reading.sig is None
    assert reading.errors == [
        "no_service: not registered (+CEREG/+C5GREG stat, or no +COPS network)"
    ]


def test_5g_standalone_takes_the_nr_values_as_the_serving_cell() -> None:
    reply = '+CESQ: 99,99,255,255,255,255,40,70,80\n+C5GREG: 2,1,"3AC9","243800E",11\nOK'
    reading = parse_capture("at", reply)
    assert reading.net["tech"] == "NR-SA"
    assert reading.sig == {"rsrq_db": -23.0, "rsrp_dbm": -86, "sinr_db": 17.0}


def test_5g_non_standalone_keeps_the_anchor_and_the_nr_leg() -> None:
    reply = '+CESQ: 99,99,255,255,20,60,40,70,80\n+CEREG: 1,1,"3AC9","243800E",13\nOK'
    reading = parse_capture("at", reply)
    assert reading.net["tech"] == "NR-NSA"
    assert reading.sig == {"rsrq_db": -9.5, "rsrp_dbm": -80, "nr_rsrq_db": -23.0,
                           "nr_rsrp_dbm": -86, "nr_sinr_db": 17.0}  # fmt: skip


def test_a_reply_without_cesq_is_named() -> None:
    with pytest.raises(SignalError, match=r"at: no \+CESQ record in the reply"):
        parse_capture("at", "AT+CESQ\r\nERROR\r\n")


def test_huawei_capture_reads_sinr_before_rsrq() -> None:
    """^HCSQ: "LTE",45,34,106,19: rsrp, then sinr, then rsrq (the known bug swaps them)."""
    reading = parse_capture("huawei", (FIXTURES / "huawei-sierra-other-3.txt").read_text())
    # RSSI 45 - 121, RSRP 34 - 140, SINR 106 * 0.2 - 20, RSRQ 19 * 0.5 - 20 (the README's
    # formulas; it rounds the last to "-10 dB", the low edge of its half-dB step is -10.5).
    assert reading.sig == {"rssi_dbm": -76, "rsrp_dbm": -106, "sinr_db": 1.2, "rsrq_db": -10.5}
    assert reading.net == {"service": True, "tech": "LTE"}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ('"LTE",255,255,255,255', ("LTE", {})),
        ('"LTE",0,0,0,0', ("LTE", {"rssi_dbm": -121, "rsrp_dbm": -140, "sinr_db": -20.0,
                                   "rsrq_db": -20.0})),
        ('"WCDMA",30,40,50', ("WCDMA", {"rssi_dbm": -91, "rscp_dbm": -81, "ecio_db": -7.0})),
        ('"GSM",40', ("GSM", {"rssi_dbm": -81})),
        ('"NOSERVICE"', (None, {})),
    ],
)  # fmt: skip
def test_hcsq_records(record: str, expected: tuple[str | None, dict[str, float]]) -> None:
    assert hcsq([v.strip() for v in record.split(",")]) == expected


def test_huawei_service_from_sysinfoex() -> None:
    reply = (
        '^HCSQ: "LTE",45,34,106,19\r\n^SYSINFOEX: 1,0,0,1,,6,"LTE",101,"LTE"\r\nOK\r\n'
        "452011234567890\r\nOK\r\n"
    )
    reading = parse_capture("huawei", reply)
    assert reading.net == {"service": False, "sim_op": "MobiFone"} and reading.sig is None
    served = parse_capture("huawei", reply.replace("^SYSINFOEX: 1", "^SYSINFOEX: 2") +
                           '+COPS: 0,2,"45201",7\r\nOK\r\n')  # fmt: skip
    assert served.net == {"service": True, "mcc": 452, "mnc": 1, "tech": "LTE",
                          "op": "MobiFone", "sim_op": "MobiFone"}  # fmt: skip
    assert served.errors == []
