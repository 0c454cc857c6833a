"""Signal from a Quectel modem through ``AT+QENG="servingcell"``.

The reply is one ``+QENG:`` line per radio: LTE, NR5G-SA, WCDMA or GSM after
``"servingcell",<state>``; in NR-NSA the state stands alone and the LTE anchor
and the ``NR5G-NSA`` leg follow on their own lines. Field counts differ
between modem models and firmware (EC25 vs RM500Q, 14 or 16 LTE values after
the duplex mode), ``-`` means unavailable, and in the NSA line SINR comes
before RSRQ. Replies arrive with command echo, CR/LF, ``OK``, log prefixes,
line breaks after ``+QENG:``, or quoted inside ``mmcli --command`` output; the
parser looks for the ``+QENG:`` records wherever they are.

The NR5G-NSA line's SINR is in dB on most firmware but in tenths of a dB on
some (see :func:`_nsa_sinr`). A value outside the record's physical ranges
(:data:`giamsat.contract.schema.FIELDS`, e.g. a ``-32768`` "unknown") is left
out with an error rather than sent, since ingest would refuse the whole record
for it and the finding it carries (coverage, or no service) would be lost.

States: ``SEARCH`` (no cell: no service), ``LIMSRV`` (camped without
registration, emergency calls only: no service, but the cell's signal is a
real measurement), ``NOCONN`` (registered, idle) and ``CONNECT``.

The registered network (``AT+COPS?``), the SIM's operator (``AT+CIMI``) and
the port itself (serial, or ``via = "mmcli"``) are every AT modem's, and
come from :mod:`giamsat.agent.signal.atport`.
"""

from __future__ import annotations

import re
from typing import Any

from giamsat.agent import plugins
from giamsat.agent.signal import SignalError, SignalReading
from giamsat.agent.signal.atport import (
    AtSignal,
    cimi_operator,
    hex_at,
    number_at,
    physical,
    records,
    registered_network,
    value_at,
)
from giamsat.agent.signal.operators import operator_name
from giamsat.contract.schema import FIELDS

QENG = "+QENG:"
LTE_RATS = ("LTE", "CAT-M", "EMTC", "CAT-NB", "NBIOT")
SERVICE_STATES = ("NOCONN", "CONNECT")
# Bandwidth indexes of the manuals, in MHz.
LTE_BW_MHZ = {0: 1.4, 1: 3, 2: 5, 3: 10, 4: 15, 5: 20}
NR_BW_MHZ = {0: 5, 1: 10, 2: 15, 3: 20, 4: 25, 5: 30, 6: 40, 7: 50, 8: 60, 9: 70, 10: 80}
NR_BW_MHZ |= {11: 90, 12: 100, 13: 200, 14: 400}


def _bounds(field: str) -> tuple[float, float]:
    """The physical range the record schema gives a numeric ``sig`` field."""
    _, low, high = FIELDS[("sig", field)]
    if low is None or high is None:
        raise ValueError(f"sig.{field} has no range in the record schema")
    return low, high


# SS-SINR a UE can report, in dB (3GPP TS 38.133 §10.1.16): the NR leg's range check.
SS_SINR_MIN_DB, SS_SINR_MAX_DB = _bounds("nr_sinr_db")


def _band(values: list[str], index: int, prefix: str) -> str | None:
    digits = re.sub(r"\D", "", value_at(values, index) or "")
    return f"{prefix}{int(digits)}" if digits else None


def _lookup(values: list[str], index: int, table: dict[int, Any]) -> Any:
    """A bandwidth index turned into MHz; unknown indexes are left out."""
    number = number_at(values, index)
    return table.get(number) if isinstance(number, int) else None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _lte(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,cellID,PCI,EARFCN,band,UL_bw,DL_bw,TAC,RSRP,RSRQ,RSSI,SINR[,CQI,tx_power],srxlev."""
    cell = {
        "mcc": number_at(v, 0),
        "mnc": number_at(v, 1),
        "cell": hex_at(v, 2),
        "pci": number_at(v, 3),
        "arfcn": number_at(v, 4),
        "band": _band(v, 5, "B"),
        "bw_mhz": _lookup(v, 7, LTE_BW_MHZ),
        "tac": hex_at(v, 8),
        "rsrp_dbm": number_at(v, 9),
        "rsrq_db": number_at(v, 10),
        "rssi_dbm": number_at(v, 11),
        "sinr_db": number_at(v, 12),
    }
    if len(v) >= 16:
        # Only the full layout has CQI and tx power; the 14-value one ends in srxlev.
        tx_power = number_at(v, 14)
        cell["cqi"] = number_at(v, 13)
        cell["tx_power_dbm"] = tx_power / 10 if tx_power not in (None, -32768) else None
    return _drop_none(cell)


def _nr_sa(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,cellID,PCI,TAC,ARFCN,band,NR_DL_bw,RSRP,RSRQ,SINR,scs,srxlev."""
    return _drop_none(
        {
            "mcc": number_at(v, 0),
            "mnc": number_at(v, 1),
            "cell": hex_at(v, 2),
            "pci": number_at(v, 3),
            "tac": hex_at(v, 4),
            "arfcn": number_at(v, 5),
            "band": _band(v, 6, "n"),
            "bw_mhz": _lookup(v, 7, NR_BW_MHZ),
            "rsrp_dbm": number_at(v, 8),
            "rsrq_db": number_at(v, 9),
            "sinr_db": number_at(v, 10),
        }
    )


def _nsa_sinr(value: int | float | None) -> int | float | None:
    """The NR5G-NSA line's SINR in dB, whether the firmware prints dB or tenths of a dB.

    The manuals say dB, but some RM500Q firmware prints tenths: one reply
    read ``180`` while QMI, asked at the same time, gave 18.5 dB (libqmi
    pull request 2, an RM500Q on a test network in NSA; our fixture
    ``quectel-qeng-nsa-sinr-tenths.txt``). The rule: a value a UE can
    report as SS-SINR (-23 to 40 dB) is dB; one outside that range is no
    SINR in dB, so it is read as tenths when that lands inside the range,
    and left out when even that does not. ``180`` is thus 18 dB, the other
    readings (``180 * 0.2 - 20`` = 16 dB, as LTE SINR on some Quectel
    modules) further from QMI's value. A firmware in tenths that measures
    -2.3 to 4.0 dB prints -23 to 40, which this reads as dB; no verdict
    reads SINR (5G is judged on SS-RSRP), so that can mislead a display,
    never a judgement.
    """
    if value is None or SS_SINR_MIN_DB <= value <= SS_SINR_MAX_DB:
        return value
    tenths = value / 10
    if not SS_SINR_MIN_DB <= tenths <= SS_SINR_MAX_DB:
        return None
    return int(tenths) if float(tenths).is_integer() else tenths


def _nr_nsa(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,PCI,RSRP,SINR,RSRQ,ARFCN,band,NR_DL_bw,scs: SINR before RSRQ here."""
    return _drop_none(
        {
            "pci": number_at(v, 2),
            "rsrp_dbm": number_at(v, 3),
            "sinr_db": _nsa_sinr(number_at(v, 4)),
            "rsrq_db": number_at(v, 5),
            "arfcn": number_at(v, 6),
            "band": _band(v, 7, "n"),
            "bw_mhz": _lookup(v, 8, NR_BW_MHZ),
        }
    )


def _wcdma(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,LAC,cellID,UARFCN,PSC,RAC,RSCP,ecio,..."""
    return _drop_none(
        {
            "mcc": number_at(v, 0),
            "mnc": number_at(v, 1),
            "lac": hex_at(v, 2),
            "cell": hex_at(v, 3),
            "arfcn": number_at(v, 4),
            "psc": number_at(v, 5),
            "rscp_dbm": number_at(v, 7),
            "ecio_db": number_at(v, 8),
        }
    )


def _gsm(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,LAC,cellID,BSIC,ARFCN,band,rxlev,..."""
    return _drop_none(
        {
            "mcc": number_at(v, 0),
            "mnc": number_at(v, 1),
            "lac": hex_at(v, 2),
            "cell": hex_at(v, 3),
            "bsic": number_at(v, 4),
            "arfcn": number_at(v, 5),
            "rxlev_dbm": number_at(v, 7),
        }
    )


def parse(text: str) -> SignalReading:
    """Normalise an ``AT+QENG="servingcell"`` reply, optionally with ``AT+COPS?`` and ``AT+CIMI``.

    From ``AT+CIMI`` only the SIM's operator is kept (``sim_op``, to whom a
    no-service reading belongs), never the IMSI itself: it identifies the
    subscriber.
    """
    found = records(text, QENG)
    if not found:
        raise SignalError(f"quectel: no +QENG record in the reply (starts {text.strip()[:40]!r})")
    state: str | None = None
    cells: dict[str, dict[str, Any]] = {}
    for fields in found:
        if fields[0].lower() == "servingcell":
            state = value_at(fields, 1)
            fields = fields[2:]
        if not fields:
            continue
        rat = fields[0].upper()
        duplexed = len(fields) > 1 and fields[1].upper() in ("FDD", "TDD")
        values = fields[2:] if duplexed else fields[1:]
        if rat in LTE_RATS:
            cells["LTE"] = _lte(values)
        elif rat == "NR5G-SA":
            cells["NR-SA"] = _nr_sa(values)
        elif rat == "NR5G-NSA":
            cells["NR-NSA"] = _nr_nsa(values)
        elif rat in ("WCDMA", "GSM"):
            cells[rat] = (_wcdma if rat == "WCDMA" else _gsm)(values)

    if not cells and state is None:
        raise SignalError("quectel: +QENG reply names no state and no known radio technology")
    errors: list[str] = []
    tech: str | None = None
    sig: dict[str, Any] | None = None
    for candidate in ("NR-SA", "LTE", "WCDMA", "GSM"):
        if candidate in cells:
            tech, sig = candidate, dict(cells[candidate])
            break
    leg = cells.get("NR-NSA", {})
    if sig is not None and tech == "LTE" and {"rsrp_dbm", "sinr_db", "rsrq_db"} & set(leg):
        tech = "NR-NSA"
        sig.update({f"nr_{k}": v for k, v in leg.items()})
    if state is not None and state.upper() == "SEARCH":
        tech, sig = None, None
    mcc = sig.pop("mcc", None) if sig else None
    mnc = sig.pop("mnc", None) if sig else None
    if sig:
        sig = physical(sig, errors)

    if state is None:
        service = sig is not None
    else:
        service = state.upper() in SERVICE_STATES
        if state.upper() == "LIMSRV":
            errors.append("limited_service: camped on a cell without registration (LIMSRV)")
        elif not service:
            errors.append(f"no_service: modem state is {state}")
    name = None
    if service:
        cops_mcc, cops_mnc, name = registered_network(text)
        if cops_mcc is not None:
            mcc, mnc = cops_mcc, cops_mnc
    net = {
        "service": service,
        "mcc": mcc,
        "mnc": mnc,
        "tech": tech,
        "op": operator_name(mcc, mnc) or name,
        "sim_op": cimi_operator(text),
        "state": state,
    }
    return SignalReading(net=_drop_none(net), sig=sig or None, errors=errors)


@plugins.register("signal", "quectel", capture=parse)
class QuectelSignal(AtSignal):
    """Asks a Quectel modem for its serving cell, registered operator and SIM."""

    command = 'AT+QENG="servingcell"'

    def parse_reply(self, reply: str) -> SignalReading:
        return parse(reply)
