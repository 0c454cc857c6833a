"""Signal sources: what the modem says about the network and the serving cell.

Every source is one module in this package exposing a class with a ``name``
and a ``read()`` method returning :class:`SignalReading`, plus a pure
``parse(...)`` function over captured device output so that parsers can be
tested on real samples. Adding a modem type means one new module here, an
entry in :data:`SOURCES`, and its fixtures.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from giamsat.contract.config import Section


@dataclass
class SignalReading:
    """One look at the radio.

    ``net`` always says whether there is service (``service``: bool) and, where
    known, ``mcc``, ``mnc``, ``tech`` (``LTE``, ``NR-SA``, ``NR-NSA``, ``WCDMA``,
    ``GSM``) and ``op``. ``sig`` is the serving cell (``rsrp_dbm``, ``rsrq_db``,
    ``sinr_db``, ``rssi_dbm``, ``pci``, ``cell``, ``tac``, ``band``, ``arfcn``)
    or None when no cell was seen. Unavailable values are None, never sentinels.
    """

    net: dict[str, Any]
    sig: dict[str, Any] | None = None
    neighbours: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SignalSource(Protocol):
    name: str

    def read(self) -> SignalReading: ...


class SignalError(Exception):
    """A device answered something we cannot read; the message says what and where."""


# name -> "module:Class"; modules are imported lazily so a probe needs only its own source.
SOURCES: dict[str, str] = {
    "sim": "giamsat.agent.signal.sim:SimSignal",
    "termux": "giamsat.agent.signal.termux:TermuxSignal",
    "mmcli": "giamsat.agent.signal.mmcli:MmcliSignal",
    "quectel": "giamsat.agent.signal.quectel:QuectelSignal",
}


def create(name: str, options: Section) -> SignalSource:
    """Instantiate the configured signal source."""
    if name not in SOURCES:
        raise options.error("source", f"unknown signal source {name!r} ({', '.join(SOURCES)})")
    module_name, class_name = SOURCES[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(options)


def parse_capture(source: str, text: str) -> SignalReading:
    """Parse a saved device output with the named source's parser, without the device.

    termux: the cellinfo JSON, optionally followed by the deviceinfo JSON;
    mmcli: any mix of status, ``--signal-get`` and ``--location-get`` output,
    JSON or text; quectel: an ``AT+QENG="servingcell"`` reply (with ``+COPS?``).
    """
    parsers = {
        "termux": "giamsat.agent.signal.termux:parse_capture",
        "mmcli": "giamsat.agent.signal.mmcli:parse",
        "quectel": "giamsat.agent.signal.quectel:parse",
    }
    if source not in parsers:
        raise SignalError(f"no capture parser for source {source!r} ({', '.join(parsers)})")
    module_name, function_name = parsers[source].split(":")
    parser = getattr(importlib.import_module(module_name), function_name)
    return parser(text)
