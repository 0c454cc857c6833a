"""Signal from an Android phone through Termux:API.

``termux-telephony-cellinfo`` lists every cell the phone hears; the serving
cell is the one marked ``registered``. Android writes 2147483647 (or leaves
the key out) for values it does not have, gives LTE no SINR and no ARFCN, and
on Android 10+ without the location permission prints ``[]``.
``termux-telephony-deviceinfo`` adds the registered network (``45204``) and
its type, which still tells service and operator when the cell list is empty,
and the SIM's own operator (``sim_op``), to whom a no-service reading belongs.

In NR-NSA Android keeps the LTE anchor as the registered cell and lists the
NR leg beside it (usually not ``registered``, without PLMN or cell id). An NR
cell is only measured while the LTE connection has an NR leg configured, so a
measured NR cell next to a registered LTE cell is read as NR-NSA.
"""

from __future__ import annotations

import json
import re
from typing import Any

from giamsat.agent import plugins
from giamsat.agent.command import CommandFailed, run_command
from giamsat.agent.signal import SignalError, SignalReading
from giamsat.agent.signal.operators import operator_name, split_plmn
from giamsat.contract.config import Section

# Integer.MAX_VALUE and Long.MAX_VALUE: Android's "unavailable".
SENTINELS = (2147483647, 9223372036854775807)
NETWORK_TYPES = {
    "gsm": "GSM",
    "gprs": "GSM",
    "edge": "GSM",
    "umts": "WCDMA",
    "hdspa": "WCDMA",  # sic: termux-api's spelling of HSDPA
    "hsdpa": "WCDMA",
    "hsupa": "WCDMA",
    "hspa": "WCDMA",
    "hspap": "WCDMA",
    "lte": "LTE",
    "nr": "NR-SA",
}
CELL_TECHS = {"gsm": "GSM", "wcdma": "WCDMA", "lte": "LTE", "nr": "NR-SA"}
# Lines an author put in to shorten a paste ("...", "…"), with an optional comma.
_ELISION = re.compile(r"^\s*(\.\.\.|…),?\s*$")


def _value(cell: dict[str, Any], key: str) -> Any:
    value = cell.get(key)
    if value is None or value in SENTINELS:
        return None
    return value


def _plmn_part(value: Any) -> int | None:
    """MCC/MNC arrive as ints (LTE, GSM) or strings that may be null (NR)."""
    if value is None or value in SENTINELS:
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _cell(cell: dict[str, Any]) -> dict[str, Any]:
    """One cell in the record's ``sig`` vocabulary, unavailable values left out."""
    kind = cell.get("type")
    out: dict[str, Any] = {}
    bands = cell.get("bands") or []
    arfcn = _value(cell, "arfcn") if "arfcn" in cell else _value(cell, "earfcn")
    if kind == "lte":
        rsrp = _value(cell, "rsrp")
        out["rsrp_dbm"] = rsrp if rsrp is not None else _value(cell, "dbm")
        out["rsrq_db"] = _value(cell, "rsrq")
        out["rssi_dbm"] = _value(cell, "rssi")
        out["pci"] = _value(cell, "pci")
        ci, tac = _value(cell, "ci"), _value(cell, "tac")
        out["cell"] = None if ci is None else f"0x{ci:X}"
        out["tac"] = None if tac is None else f"0x{tac:X}"
        out["band"] = f"B{bands[0]}" if bands else None
        out["arfcn"] = arfcn
    elif kind == "nr":
        out["rsrp_dbm"] = _value(cell, "ss_rsrp")
        out["rsrq_db"] = _value(cell, "ss_rsrq")
        out["sinr_db"] = _value(cell, "ss_sinr")
        out["pci"] = _value(cell, "pci")
        nci, tac = _value(cell, "nci"), _value(cell, "tac")
        out["cell"] = None if nci is None else f"0x{nci:X}"
        out["tac"] = None if tac is None else f"0x{tac:X}"
        out["band"] = f"n{bands[0]}" if bands else None
        out["arfcn"] = arfcn
    elif kind in ("gsm", "wcdma"):
        key = "rxlev_dbm" if kind == "gsm" else "rscp_dbm"
        out[key] = _value(cell, "dbm")
        cid, lac = _value(cell, "cid"), _value(cell, "lac")
        out["cell"] = None if cid is None else f"0x{cid:X}"
        out["lac"] = None if lac is None else f"0x{lac:X}"
        out["psc"] = _value(cell, "psc")
        out["arfcn"] = arfcn
    return {k: v for k, v in out.items() if v is not None}


def _has_signal(cell: dict[str, Any]) -> bool:
    return any(k in cell for k in ("rsrp_dbm", "rsrq_db", "sinr_db", "rscp_dbm", "rxlev_dbm"))


def _load_cells(text: str, errors: list[str]) -> list[dict[str, Any]]:
    try:
        cells = json.loads(text)
    except json.JSONDecodeError:
        kept = [line for line in text.splitlines() if not _ELISION.match(line)]
        if len(kept) == len(text.splitlines()):
            raise SignalError(
                f"termux-telephony-cellinfo: output is not JSON (starts {text.strip()[:40]!r})"
            ) from None
        # A hand-trimmed paste: drop the elision and any comma left dangling by it.
        repaired = re.sub(r",(\s*[\]}])", r"\1", re.sub(r"([\[{]\s*),", r"\1", "\n".join(kept)))
        try:
            cells = json.loads(repaired)
        except json.JSONDecodeError as exc:
            raise SignalError(f"termux-telephony-cellinfo: output is not JSON ({exc})") from None
        errors.append("cellinfo_elided: output contained '...' lines; parsed the cells left")
    return _check_cells(cells)


def _check_cells(cells: Any) -> list[dict[str, Any]]:
    if isinstance(cells, dict) and "API_ERROR" in cells:
        raise SignalError(f"termux-telephony-cellinfo: {cells['API_ERROR']}")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise SignalError("termux-telephony-cellinfo: expected a JSON array of cell objects")
    return cells


def _choose_serving(
    registered: list[dict[str, Any]], operator: tuple[int | None, int | None]
) -> dict[str, Any]:
    """With two SIMs two cells can be registered: prefer the data SIM's network."""
    for cell in registered:
        if (_plmn_part(cell.get("mcc")), _plmn_part(cell.get("mnc"))) == operator:
            return cell
    return registered[0]


def _load_device(text: str) -> dict[str, Any]:
    try:
        device = json.loads(text)
    except json.JSONDecodeError:
        raise SignalError("termux-telephony-deviceinfo: output is not JSON") from None
    if not isinstance(device, dict):
        raise SignalError("termux-telephony-deviceinfo: expected a JSON object")
    return device


def parse(cellinfo: str, deviceinfo: str | None = None) -> SignalReading:
    """Normalise ``termux-telephony-cellinfo`` (and optionally ``-deviceinfo``) JSON."""
    errors: list[str] = []
    cells = _load_cells(cellinfo, errors)
    device = _load_device(deviceinfo) if deviceinfo is not None else {}
    return _reading(cells, device, errors)


def parse_capture(text: str) -> SignalReading:
    """A saved capture: the cellinfo array, optionally followed by the deviceinfo object."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    stripped = text.strip()
    position = 0
    while position < len(stripped):
        try:
            document, position = decoder.raw_decode(stripped, position)
        except json.JSONDecodeError:
            # Not a clean sequence of JSON documents (e.g. a trimmed paste): one cellinfo text.
            return parse(text)
        documents.append(document)
        while position < len(stripped) and stripped[position].isspace():
            position += 1
    arrays = [d for d in documents if isinstance(d, list)]
    objects = [d for d in documents if isinstance(d, dict)]
    if len(arrays) != 1 or len(objects) > 1:
        raise SignalError(
            "termux capture: expected one cellinfo array and at most one deviceinfo object"
        )
    return _reading(_check_cells(arrays[0]), objects[0] if objects else {}, [])


def _reading(
    all_cells: list[dict[str, Any]], device: dict[str, Any], errors: list[str]
) -> SignalReading:
    cells = [c for c in all_cells if c.get("type") in CELL_TECHS]
    operator = split_plmn(device.get("network_operator"))
    registered = [c for c in cells if c.get("registered") is True]
    anchors = [c for c in registered if c.get("type") != "nr"]
    serving = _choose_serving(anchors or registered, operator) if registered else None
    nr_leg: dict[str, Any] | None = None
    if serving is not None and serving.get("type") == "lte":
        measured_nr = [c for c in cells if c.get("type") == "nr" and _has_signal(_cell(c))]
        if measured_nr:
            nr_leg = max(measured_nr, key=lambda c: _cell(c).get("rsrp_dbm", -999))

    sig: dict[str, Any] | None = None
    tech: str | None
    if serving is not None:
        tech = CELL_TECHS[serving["type"]]
        mcc, mnc = _plmn_part(serving.get("mcc")), _plmn_part(serving.get("mnc"))
        sig = _cell(serving)
        if nr_leg is not None:
            tech = "NR-NSA"
            sig.update({f"nr_{k}": v for k, v in _cell(nr_leg).items() if k != "tac"})
        service = True
    else:
        tech = NETWORK_TYPES.get(str(device.get("network_type", "")).lower())
        mcc, mnc = None, None
        # Android names a network operator only while registered to it.
        service = operator[0] is not None
    if mcc is None or mnc is None:
        mcc, mnc = operator
    net: dict[str, Any] = {"service": service, "mcc": mcc, "mnc": mnc}
    net.update(tech=tech, op=operator_name(mcc, mnc), state=device.get("data_state") or None)
    # Whose SIM this is: what a no-service reading is attributed to.
    net["sim_op"] = operator_name(*split_plmn(device.get("sim_operator"))) or (
        device.get("sim_operator_name") or None
    )
    net = {k: v for k, v in net.items() if v is not None}

    neighbours = []
    for cell in cells:
        if cell is serving or cell is nr_leg:
            continue
        entry = _cell(cell)
        entry["tech"] = CELL_TECHS[cell["type"]]
        mcc_n, mnc_n = _plmn_part(cell.get("mcc")), _plmn_part(cell.get("mnc"))
        if mcc_n is not None and mnc_n is not None:
            entry.update(mcc=mcc_n, mnc=mnc_n)
        neighbours.append(entry)

    if device.get("sim_state") not in (None, "ready"):
        errors.append(f"sim_not_ready: SIM state is {device['sim_state']!r}")
    if not cells:
        errors.append(
            "no_cells_visible: termux-telephony-cellinfo returned no cells "
            "(Termux:API lacks the location permission, or the radio is off)"
        )
    elif serving is None and service:
        errors.append("no_registered_cell: registered per deviceinfo, but no cell is marked so")
    elif serving is None:
        errors.append("no_service: cells are heard but none is registered")
    return SignalReading(net=net, sig=sig, neighbours=neighbours, errors=errors)


@plugins.register("signal", "termux", capture=parse_capture)
class TermuxSignal:
    """Reads the phone's radio through the Termux:API command-line tools."""

    def __init__(self, options: Section) -> None:
        self.timeout_s = options.float("timeout_s", 20.0, min=1.0, max=300.0)
        self.deviceinfo = options.bool("deviceinfo", True)

    def read(self) -> SignalReading:
        errors: list[str] = []
        device: str | None = None
        if self.deviceinfo:
            try:
                device = run_command(["termux-telephony-deviceinfo"], self.timeout_s)
            except CommandFailed as exc:
                errors.append(f"command_failed: {exc}")
        try:
            cells = run_command(["termux-telephony-cellinfo"], self.timeout_s)
        except CommandFailed as exc:
            errors.append(f"command_failed: {exc}")
            return SignalReading(net={"service": False}, errors=errors)
        reading = parse(cells, device)
        reading.errors[:0] = errors
        return reading
