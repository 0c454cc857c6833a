"""Signal from a Quectel modem through ``AT+QENG="servingcell"``.

The reply is one ``+QENG:`` line per radio: LTE, NR5G-SA, WCDMA or GSM after
``"servingcell",<state>``; in NR-NSA the state stands alone and the LTE anchor
and the ``NR5G-NSA`` leg follow on their own lines. Field counts differ
between modem models and firmware (EC25 vs RM500Q, 14 or 16 LTE values after
the duplex mode), ``-`` means unavailable, and in the NSA line SINR comes
before RSRQ. Replies arrive with command echo, CR/LF, ``OK``, log prefixes,
line breaks after ``+QENG:``, or quoted inside ``mmcli --command`` output; the
parser looks for the ``+QENG:`` records wherever they are.

States: ``SEARCH`` (no cell: no service), ``LIMSRV`` (camped without
registration, emergency calls only: no service, but the cell's signal is a
real measurement), ``NOCONN`` (registered, idle) and ``CONNECT``.

The registered network comes from ``AT+COPS?`` when asked: with a shared
radio network the serving cell's PLMN is the host operator's, not the one the
probe's SIM is registered with. The SIM's own operator comes from the IMSI
(``AT+CIMI``), so a reading without service is still attributed.

The port is talked to with termios and os only, so the probe needs no
pyserial. When ModemManager owns the AT ports, ``via = "mmcli"`` sends the
commands through ``mmcli --command`` (ModemManager must run with ``--debug``).
"""

from __future__ import annotations

import csv
import os
import re
import select
import termios
import time
import tty
from dataclasses import dataclass
from typing import Any

from giamsat.agent.command import CommandFailed, run_command
from giamsat.agent.signal import SignalError, SignalReading
from giamsat.agent.signal.operators import operator_name, sim_operator, split_plmn
from giamsat.contract.config import Section

QENG = "+QENG:"
LTE_RATS = ("LTE", "CAT-M", "EMTC", "CAT-NB", "NBIOT")
SERVICE_STATES = ("NOCONN", "CONNECT")
# Bandwidth indexes of the manuals, in MHz.
LTE_BW_MHZ = {0: 1.4, 1: 3, 2: 5, 3: 10, 4: 15, 5: 20}
NR_BW_MHZ = {0: 5, 1: 10, 2: 15, 3: 20, 4: 25, 5: 30, 6: 40, 7: 50, 8: 60, 9: 70, 10: 80}
NR_BW_MHZ |= {11: 90, 12: 100, 13: 200, 14: 400}
# 3GPP TS 27.007 <AcT> of +COPS.
COPS_ACT = {0: "GSM", 1: "GSM", 2: "WCDMA", 3: "GSM", 4: "WCDMA", 5: "WCDMA", 6: "WCDMA"}
COPS_ACT |= {7: "LTE", 9: "LTE", 10: "LTE", 11: "NR-SA", 12: "NR-SA", 13: "NR-NSA"}
COPS_STATUS = {0: "unknown", 1: "available", 2: "current", 3: "forbidden"}
# AT+CIMI's reply: a line of digits, bare or quoted by ``mmcli --command``.
_IMSI = re.compile(r"^\s*(?:response:\s*')?(\d{6,15})'?\s*$", re.MULTILINE)
_FINAL = re.compile(r"^(OK|ERROR|NO CARRIER|\+CM[ES] ERROR:.*)$")
_COPS_CURRENT = re.compile(r"\+COPS:\s*(\d+)(?:\s*,\s*(\d+)\s*,\s*\"([^\"]*)\"(?:\s*,\s*(\d+))?)?")
_COPS_ENTRY = re.compile(
    r"\(\s*(\d+)\s*,\s*\"([^\"]*)\"\s*,\s*\"([^\"]*)\"\s*,\s*\"(\d{5,6})\"(?:\s*,\s*(\d+))?\s*\)"
)


class ModemError(Exception):
    """The AT port could not be opened, did not answer, or answered ERROR."""


@dataclass(frozen=True)
class Operator:
    """One network named in a ``+COPS`` reply.

    ``status`` is set for the entries of a scan (``AT+COPS=?``: available,
    current, forbidden) and None for the selected operator (``AT+COPS?``).
    """

    mcc: int | None
    mnc: int | None
    name: str | None
    tech: str | None
    status: str | None = None


def parse_cops(text: str) -> list[Operator]:
    """Every operator in ``+COPS?`` and ``+COPS=?`` replies, in order of appearance."""
    found: list[tuple[int, Operator]] = []
    for match in _COPS_ENTRY.finditer(text):
        stat, long_name, short_name, code, act = match.groups()
        mcc, mnc = split_plmn(code)
        tech = COPS_ACT.get(int(act)) if act else None
        status = COPS_STATUS.get(int(stat), "unknown")
        found.append((match.start(), Operator(mcc, mnc, long_name or short_name, tech, status)))
    for match in _COPS_CURRENT.finditer(text):
        _mode, fmt, oper, act = match.groups()
        if fmt is None:
            continue  # "+COPS: 0": not registered, nothing to name
        mcc, mnc = split_plmn(oper) if fmt == "2" else (None, None)
        name = oper if fmt != "2" else None
        tech = COPS_ACT.get(int(act)) if act else None
        found.append((match.start(), Operator(mcc, mnc, name, tech)))
    return [operator for _, operator in sorted(found, key=lambda item: item[0])]


def _records(text: str) -> list[list[str]]:
    """The comma-separated values of every ``+QENG:`` record in a reply.

    A record may be wrapped after ``+QENG:`` or after a comma; the next lines
    are joined until the values no longer end with a comma. A trailing quote
    (``mmcli --command`` wraps the reply in single quotes) is dropped.
    """
    lines = text.replace("\r", "\n").split("\n")
    records: list[list[str]] = []
    for index, line in enumerate(lines):
        marker = line.find(QENG)
        if marker < 0:
            continue
        content = line[marker + len(QENG) :].strip()
        following = iter(lines[index + 1 :])
        while content == "" or content.endswith(","):
            extra = next(following, None)
            if extra is None or QENG in extra or _FINAL.match(extra.strip()):
                break
            if extra.lstrip().startswith(("+", "AT", "at")):
                break  # the next response or command, not a continuation
            content += extra.strip()
        content = content.rstrip("'").strip()
        if content:
            records.append([field.strip() for field in next(csv.reader([content]))])
    return records


def _at(values: list[str], index: int) -> str | None:
    if index >= len(values):
        return None
    value = values[index].strip().strip('"')
    return value if value not in ("", "-", "--") else None


def _num(values: list[str], index: int) -> int | float | None:
    value = _at(values, index)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _hex(values: list[str], index: int) -> str | None:
    value = _at(values, index)
    try:
        return f"0x{int(value, 16):X}" if value is not None else None
    except ValueError:
        return None


def _band(values: list[str], index: int, prefix: str) -> str | None:
    digits = re.sub(r"\D", "", _at(values, index) or "")
    return f"{prefix}{int(digits)}" if digits else None


def _lookup(values: list[str], index: int, table: dict[int, Any]) -> Any:
    """A bandwidth index turned into MHz; unknown indexes are left out."""
    number = _num(values, index)
    return table.get(number) if isinstance(number, int) else None


def _sim_op(text: str) -> str | None:
    for imsi in _IMSI.findall(text):
        if name := sim_operator(imsi):
            return name
    return None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _lte(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,cellID,PCI,EARFCN,band,UL_bw,DL_bw,TAC,RSRP,RSRQ,RSSI,SINR[,CQI,tx_power],srxlev."""
    cell = {
        "mcc": _num(v, 0),
        "mnc": _num(v, 1),
        "cell": _hex(v, 2),
        "pci": _num(v, 3),
        "arfcn": _num(v, 4),
        "band": _band(v, 5, "B"),
        "bw_mhz": _lookup(v, 7, LTE_BW_MHZ),
        "tac": _hex(v, 8),
        "rsrp_dbm": _num(v, 9),
        "rsrq_db": _num(v, 10),
        "rssi_dbm": _num(v, 11),
        "sinr_db": _num(v, 12),
    }
    if len(v) >= 16:
        # Only the full layout has CQI and tx power; the 14-value one ends in srxlev.
        tx_power = _num(v, 14)
        cell["cqi"] = _num(v, 13)
        cell["tx_power_dbm"] = tx_power / 10 if tx_power not in (None, -32768) else None
    return _drop_none(cell)


def _nr_sa(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,cellID,PCI,TAC,ARFCN,band,NR_DL_bw,RSRP,RSRQ,SINR,scs,srxlev."""
    return _drop_none(
        {
            "mcc": _num(v, 0),
            "mnc": _num(v, 1),
            "cell": _hex(v, 2),
            "pci": _num(v, 3),
            "tac": _hex(v, 4),
            "arfcn": _num(v, 5),
            "band": _band(v, 6, "n"),
            "bw_mhz": _lookup(v, 7, NR_BW_MHZ),
            "rsrp_dbm": _num(v, 8),
            "rsrq_db": _num(v, 9),
            "sinr_db": _num(v, 10),
        }
    )


def _nr_nsa(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,PCI,RSRP,SINR,RSRQ,ARFCN,band,NR_DL_bw,scs: SINR before RSRQ here."""
    return _drop_none(
        {
            "pci": _num(v, 2),
            "rsrp_dbm": _num(v, 3),
            "sinr_db": _num(v, 4),
            "rsrq_db": _num(v, 5),
            "arfcn": _num(v, 6),
            "band": _band(v, 7, "n"),
            "bw_mhz": _lookup(v, 8, NR_BW_MHZ),
        }
    )


def _wcdma(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,LAC,cellID,UARFCN,PSC,RAC,RSCP,ecio,..."""
    return _drop_none(
        {
            "mcc": _num(v, 0),
            "mnc": _num(v, 1),
            "lac": _hex(v, 2),
            "cell": _hex(v, 3),
            "arfcn": _num(v, 4),
            "psc": _num(v, 5),
            "rscp_dbm": _num(v, 7),
            "ecio_db": _num(v, 8),
        }
    )


def _gsm(v: list[str]) -> dict[str, Any]:
    """MCC,MNC,LAC,cellID,BSIC,ARFCN,band,rxlev,..."""
    return _drop_none(
        {
            "mcc": _num(v, 0),
            "mnc": _num(v, 1),
            "lac": _hex(v, 2),
            "cell": _hex(v, 3),
            "bsic": _num(v, 4),
            "arfcn": _num(v, 5),
            "rxlev_dbm": _num(v, 7),
        }
    )


def parse(text: str) -> SignalReading:
    """Normalise an ``AT+QENG="servingcell"`` reply, optionally with ``AT+COPS?`` and ``AT+CIMI``.

    From ``AT+CIMI`` only the SIM's operator is kept (``sim_op``, to whom a
    no-service reading belongs), never the IMSI itself: it identifies the
    subscriber.
    """
    records = _records(text)
    if not records:
        raise SignalError(f"quectel: no +QENG record in the reply (starts {text.strip()[:40]!r})")
    state: str | None = None
    cells: dict[str, dict[str, Any]] = {}
    for fields in records:
        if fields[0].lower() == "servingcell":
            state = _at(fields, 1)
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
        selected = [o for o in parse_cops(text) if o.status is None]
        numeric = [o for o in selected if o.mcc is not None]
        if numeric:
            mcc, mnc = numeric[0].mcc, numeric[0].mnc
        name = next((o.name for o in selected if o.name), None)
    net = {
        "service": service,
        "mcc": mcc,
        "mnc": mnc,
        "tech": tech,
        "op": operator_name(mcc, mnc) or name,
        "sim_op": _sim_op(text),
        "state": state,
    }
    return SignalReading(net=_drop_none(net), sig=sig or None, errors=errors)


def _configure(fd: int, baudrate: int) -> None:
    """Raw 8N1 at the given speed, ignoring modem control lines."""
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[2] |= termios.CLOCAL | termios.CREAD
    speed = getattr(termios, f"B{baudrate}")
    attrs[4] = attrs[5] = speed
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def at_command(port: str, command: str, baudrate: int = 115200, timeout_s: float = 5.0) -> str:
    """Send one AT command on a serial port and return the reply up to its final result code."""
    try:
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise ModemError(f"{port}: cannot open ({exc.strerror or exc})") from None
    try:
        _configure(fd, baudrate)
        termios.tcflush(fd, termios.TCIOFLUSH)
        os.write(fd, command.encode("ascii") + b"\r")
        deadline = time.monotonic() + timeout_s
        reply = b""
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            reply += chunk
            text = reply.decode("ascii", errors="replace")
            lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
            final = next((line for line in lines if _FINAL.match(line)), None)
            if final == "OK":
                return text
            if final is not None:
                raise ModemError(f"{port}: {command} answered {final}")
    except (OSError, termios.error) as exc:
        raise ModemError(f"{port}: {exc}") from None
    finally:
        os.close(fd)
    raise ModemError(f"{port}: no final result code to {command} within {timeout_s:g} s")


class QuectelSignal:
    """Asks a Quectel modem for its serving cell and registered operator."""

    name = "quectel"

    def __init__(self, options: Section) -> None:
        self.via = options.choice("via", ("serial", "mmcli"), "serial")
        self.port = options.str("port", "/dev/ttyUSB2")
        self.baudrate = options.int("baudrate", 115200, min=1200)
        if not hasattr(termios, f"B{self.baudrate}"):
            raise options.error("baudrate", f"{self.baudrate} is not a serial speed this OS knows")
        self.modem = options.str("modem", "any")
        self.timeout_s = options.float("timeout_s", 5.0, min=0.5, max=120.0)

    def _ask(self, command: str) -> str:
        if self.via == "mmcli":
            argv = ["mmcli", "-m", self.modem, f"--command={command}"]
            return run_command(argv, self.timeout_s)
        return at_command(self.port, command, self.baudrate, self.timeout_s)

    def read(self) -> SignalReading:
        try:
            reply = self._ask('AT+QENG="servingcell"')
        except (ModemError, CommandFailed) as exc:
            return SignalReading(net={"service": False}, errors=[f"modem_failed: {exc}"])
        errors: list[str] = []
        try:
            # "3,2" only sets the reply format to numeric; it does not touch network selection.
            reply += "\n" + self._ask("AT+COPS=3,2;+COPS?")
        except (ModemError, CommandFailed) as exc:
            errors.append(f"modem_failed: {exc} (operator taken from the serving cell)")
        try:
            reply += "\n" + self._ask("AT+CIMI")
        except (ModemError, CommandFailed) as exc:
            errors.append(f"modem_failed: {exc} (the SIM's operator is unknown)")
        reading = parse(reply)
        reading.errors[:0] = errors
        return reading
