"""Throughput methods: how fast the network moves bytes down and up, and what that cost.

Every method is one module in this package: a class built from the
``[throughput]`` config section, registered with
``@plugins.register("throughput", NAME)``, with ``measure(direction)``, where
``direction`` is ``"dl"`` or ``"ul"``. The
result is the record's ``dl`` / ``ul`` section plus two keys the cycle takes
out of it:

* ``mbps`` (Mbit/s, 10^6 bit/s of payload), ``bytes`` (every payload byte the
  test moved, including pre-test and warm-up: that is what the SIM pays),
  ``dur_s`` (wall time of the whole test), ``streams``, ``method``, ``server``
  and ``stop`` (why the test ended: ``stable``, ``max_s``, ``max_bytes``,
  ``done`` or ``error``; ``giamsat-http`` only), absent when unknown;
* ``access``: ``{"ok": bool, "dur_s": seconds to the first response byte}``,
  the QCVN access-time / access-failure sample;
* ``error``: a one-line string when the test failed or was cut short by a
  fault (the cycle records it; nothing is raised for network trouble).

A method never raises for network trouble: a probe in a dead zone must still
produce a record that says so.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from giamsat.agent import plugins
from giamsat.contract.config import Section

Direction = Literal["dl", "ul"]
DIRECTIONS: tuple[Direction, ...] = ("dl", "ul")


class ThroughputMethod(Protocol):
    name: str

    def measure(self, direction: Direction) -> dict[str, Any]: ...


def create(name: str, options: Section) -> ThroughputMethod:
    """Instantiate the configured throughput method."""
    return plugins.create("throughput", name, options, "method")


def failure(
    method: str, error: str, *, access_s: float | None = None, **known: Any
) -> dict[str, Any]:
    """The result of a test that measured no rate: what is known, and why not.

    ``access_s`` is None when no response byte ever arrived, which is what an
    access failure is.
    """
    access = {"ok": access_s is not None, "dur_s": access_s}
    return {"method": method, **known, "access": access, "error": error}
