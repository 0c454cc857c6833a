"""AT commands on a modem's port, and the 3GPP TS 27.007 replies that every AT modem shares.

What differs between AT modems is one command and its reply (Quectel's
``AT+QENG="servingcell"``, SIMCom's ``AT+CPSI?``, ...). Everything else is
here, so that a new AT modem is one module with its parser and a subclass of
:class:`AtSignal`, plus fixtures:

* talking to the port: raw termios and os only, so the probe needs no
  pyserial; or, when ModemManager owns the AT ports, ``mmcli --command``
  (ModemManager must then run with ``--debug``);
* final result codes: ``OK`` ends a reply, ``ERROR`` and ``+CME ERROR: n``
  (the modem's reason, e.g. 10 = SIM not inserted) raise :class:`ModemError`;
* reply splitting: replies arrive with command echo, CR/LF, log prefixes,
  line breaks inside a record, or quoted inside ``mmcli --command`` output,
  so :func:`records` looks for a record's prefix wherever it is;
* ``+COPS`` (which network the modem is registered with: with a shared
  radio network the serving cell's PLMN is the host operator's, not the one
  the SIM is registered with) and ``+CIMI`` (the SIM's own operator, so a
  reading without service is still attributed).
"""

from __future__ import annotations

import csv
import os
import re
import select
import termios
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from giamsat.agent.command import CommandFailed, run_command
from giamsat.agent.signal import SignalReading
from giamsat.agent.signal.operators import operator_name, sim_operator, split_plmn
from giamsat.contract.config import Section
from giamsat.contract.schema import FIELDS

# 3GPP TS 27.007 <AcT> of +COPS.
COPS_ACT = {0: "GSM", 1: "GSM", 2: "WCDMA", 3: "GSM", 4: "WCDMA", 5: "WCDMA", 6: "WCDMA"}
COPS_ACT |= {7: "LTE", 9: "LTE", 10: "LTE", 11: "NR-SA", 12: "NR-SA", 13: "NR-NSA"}
COPS_STATUS = {0: "unknown", 1: "available", 2: "current", 3: "forbidden"}
# The registered network in numeric format; it does not touch network selection.
COPS_QUERY = "AT+COPS=3,2;+COPS?"
# AT+CIMI's reply: a line of digits, bare or quoted by ``mmcli --command``.
_IMSI = re.compile(r"^\s*(?:response:\s*')?(\d{6,15})'?\s*$", re.MULTILINE)
_FINAL = re.compile(r"^(OK|ERROR|NO CARRIER|\+CM[ES] ERROR:.*)$")
_COPS_CURRENT = re.compile(r"\+COPS:\s*(\d+)(?:\s*,\s*(\d+)\s*,\s*\"([^\"]*)\"(?:\s*,\s*(\d+))?)?")
_COPS_ENTRY = re.compile(
    r"\(\s*(\d+)\s*,\s*\"([^\"]*)\"\s*,\s*\"([^\"]*)\"\s*,\s*\"(\d{5,6})\"(?:\s*,\s*(\d+))?\s*\)"
)


class ModemError(Exception):
    """The AT port could not be opened, did not answer, or answered ERROR."""


# -- the port -----------------------------------------------------------------


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


class AtPort:
    """Where a source's AT commands go: the serial port itself, or ModemManager.

    Options: ``via`` (``serial`` or ``mmcli``), ``port`` and ``baudrate``
    (serial), ``modem`` (mmcli's ``-m``), ``timeout_s``.
    """

    def __init__(self, options: Section) -> None:
        self.via = options.choice("via", ("serial", "mmcli"), "serial")
        self.port = options.str("port", "/dev/ttyUSB2")
        self.baudrate = options.int("baudrate", 115200, min=1200)
        if not hasattr(termios, f"B{self.baudrate}"):
            raise options.error("baudrate", f"{self.baudrate} is not a serial speed this OS knows")
        self.modem = options.str("modem", "any")
        self.timeout_s = options.float("timeout_s", 5.0, min=0.5, max=120.0)

    def ask(self, command: str) -> str:
        """The reply to ``command``; ModemError when there is none, or it is an error."""
        if self.via == "serial":
            return at_command(self.port, command, self.baudrate, self.timeout_s)
        try:
            return run_command(["mmcli", "-m", self.modem, f"--command={command}"], self.timeout_s)
        except CommandFailed as exc:
            raise ModemError(str(exc)) from None


class AtSignal(ABC):
    """A signal source on an AT modem: its serving-cell command, the network, the SIM.

    A subclass names its ``command`` and parses the combined reply, in which
    the ``+COPS?`` and ``+CIMI`` replies follow the command's own (so its
    parser can use :func:`registered_network` and :func:`cimi_operator`).
    Only the serving-cell command is needed for a reading; without the other
    two it says what is missing.
    """

    command: ClassVar[str]

    def __init__(self, options: Section) -> None:
        self.port = AtPort(options)

    @abstractmethod
    def parse_reply(self, reply: str) -> SignalReading:
        """The reading in the combined reply."""

    def read(self) -> SignalReading:
        try:
            reply = self.port.ask(self.command)
        except ModemError as exc:
            return SignalReading(net={"service": False}, errors=[f"modem_failed: {exc}"])
        errors: list[str] = []
        try:
            reply += "\n" + self.port.ask(COPS_QUERY)
        except ModemError as exc:
            errors.append(f"modem_failed: {exc} (operator taken from the serving cell)")
        try:
            reply += "\n" + self.port.ask("AT+CIMI")
        except ModemError as exc:
            errors.append(f"modem_failed: {exc} (the SIM's operator is unknown)")
        reading = self.parse_reply(reply)
        reading.errors[:0] = errors
        return reading


# -- replies ------------------------------------------------------------------


def records(text: str, prefix: str) -> list[list[str]]:
    """The comma-separated values of every ``prefix`` record (e.g. ``+QENG:``) in a reply.

    A record may be wrapped after its prefix or after a comma; the next lines
    are joined until the values no longer end with a comma. A trailing quote
    (``mmcli --command`` wraps the reply in single quotes) is dropped.
    """
    lines = text.replace("\r", "\n").split("\n")
    found: list[list[str]] = []
    for index, line in enumerate(lines):
        marker = line.find(prefix)
        if marker < 0:
            continue
        content = line[marker + len(prefix) :].strip()
        following = iter(lines[index + 1 :])
        while content == "" or content.endswith(","):
            extra = next(following, None)
            if extra is None or prefix in extra or _FINAL.match(extra.strip()):
                break
            if extra.lstrip().startswith(("+", "AT", "at")):
                break  # the next response or command, not a continuation
            content += extra.strip()
        content = content.rstrip("'").strip()
        if content:
            found.append([value.strip() for value in next(csv.reader([content]))])
    return found


def value_at(values: list[str], index: int) -> str | None:
    """A record's value, unquoted; None when absent or ``-`` (unavailable)."""
    if index >= len(values):
        return None
    value = values[index].strip().strip('"')
    return value if value not in ("", "-", "--") else None


def number_at(values: list[str], index: int) -> int | float | None:
    """A record's value as a number (an int when whole); None when absent or not a number."""
    value = value_at(values, index)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def hex_at(values: list[str], index: int) -> str | None:
    """A cell id or area code given in hex, as the record writes it (``0x1A2B``)."""
    value = value_at(values, index)
    try:
        return f"0x{int(value, 16):X}" if value is not None else None
    except ValueError:
        return None


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


def registered_network(text: str) -> tuple[int | None, int | None, str | None]:
    """MCC, MNC and name of the network ``+COPS?`` says the modem is registered with."""
    selected = [o for o in parse_cops(text) if o.status is None]
    numeric = [o for o in selected if o.mcc is not None]
    mcc, mnc = (numeric[0].mcc, numeric[0].mnc) if numeric else (None, None)
    return mcc, mnc, next((o.name for o in selected if o.name), None)


def cimi_operator(text: str) -> str | None:
    """The SIM's home operator from an ``AT+CIMI`` reply; the IMSI itself is not kept."""
    for imsi in _IMSI.findall(text):
        if name := sim_operator(imsi):
            return name
    return None


def physical(sig: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """``sig`` without the values outside the record's physical ranges, each named in ``errors``."""
    kept: dict[str, Any] = {}
    for key, value in sig.items():
        rule = FIELDS.get(("sig", key))
        if rule is not None and isinstance(value, int | float):
            _, low, high = rule
            if low is not None and high is not None and not low <= value <= high:
                errors.append(
                    f"out_of_range: sig.{key}={value} is outside [{low}, {high}], left out"
                )
                continue
        kept[key] = value
    return kept


def reading(
    text: str, *, service: bool, tech: str | None, sig: dict[str, Any], errors: list[str]
) -> SignalReading:
    """The reading of a vendor's measurements once the modem's service is known.

    The network comes from ``+COPS?`` (its MCC/MNC named as the operator list
    names it), the SIM's operator from ``+CIMI``; without service there is no
    serving cell and no technology. ``sig`` is kept within the record's
    physical ranges (:func:`physical`, which names what it leaves out).
    """
    sig = physical(sig, errors)
    mcc, mnc, name = registered_network(text)
    net = {
        "service": service,
        "mcc": mcc,
        "mnc": mnc,
        "tech": tech if service else None,
        "op": (operator_name(mcc, mnc) or name) if service else None,
        "sim_op": cimi_operator(text),
    }
    return SignalReading(
        net={k: v for k, v in net.items() if v is not None},
        sig=sig if service and sig else None,
        errors=errors,
    )
