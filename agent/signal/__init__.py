"""Signal sources: what the modem says about the network and the serving cell.

Every source is one module in this package: a class built from the
``[signal]`` config section, whose ``read()`` returns :class:`SignalReading`,
registered with ``@plugins.register("signal", NAME, capture=parse)``, where
``parse`` is a pure function over a saved device output, so that the parser
is tested on real samples and ``giamsat-agent signal --source NAME
--from-file F`` checks it on a user's capture. Adding a modem type means one
new module here and its fixtures (``tests/fixtures/signal/NAME-*``); a modem
that speaks AT builds on :mod:`giamsat.agent.signal.atport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from giamsat.agent import plugins
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
    def read(self) -> SignalReading: ...


class SignalError(Exception):
    """A device answered something we cannot read; the message says what and where."""


def create(name: str, options: Section) -> SignalSource:
    """Instantiate the configured signal source."""
    return plugins.create("signal", name, options, "source")


def capture_sources() -> tuple[str, ...]:
    """The sources that can parse a saved device output."""
    return tuple(p.name for p in plugins.available("signal") if p.capture is not None)


def parse_capture(source: str, text: str) -> SignalReading:
    """Parse a saved device output with the named source's parser, without the device.

    What a capture holds is the source's to say (see each module): e.g. for
    termux the cellinfo JSON, optionally followed by the deviceinfo JSON.
    """
    plugin = plugins.find("signal", source)
    if plugin is None or plugin.capture is None:
        known = ", ".join(capture_sources())
        raise SignalError(f"no capture parser for source {source!r} ({known})")
    return plugin.capture(text)
