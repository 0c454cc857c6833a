"""Throughput methods: how fast the network moves bytes down and up, and what that cost.

Every method is one module in this package: a class built from the
``[throughput]`` config section, registered with
``@plugins.register("throughput", NAME)``, whose ``measure(direction)``
(``"dl"`` or ``"ul"``) returns a :class:`TransferResult`. A method never
raises for network trouble: a probe in a dead zone must still produce a
record that says so, so trouble is the result's ``error``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from giamsat.agent import plugins
from giamsat.contract.config import Section
from giamsat.contract.schema import TRANSFER_OUTCOMES

Direction = Literal["dl", "ul"]
DIRECTIONS: tuple[Direction, ...] = ("dl", "ul")
COMPLETED, DROPPED, NOT_STARTED = TRANSFER_OUTCOMES


@dataclass(frozen=True)
class Access:
    """The QCVN access sample of a transfer: did a first response byte arrive, and when.

    ``dur_s`` is the time from starting to connect to that byte, None when
    none arrived, which is what an access failure is.
    """

    ok: bool
    dur_s: float | None = None

    def section(self) -> dict[str, Any]:
        """The record's ``access`` section."""
        return {"ok": self.ok, "dur_s": self.dur_s}


@dataclass(frozen=True)
class TransferResult:
    """One download or upload test: its figures, its access sample, and what went wrong.

    * ``mbps``: Mbit/s (10^6 bit/s) of payload; None when no rate was measured;
    * ``bytes``: every payload byte the test moved, including pre-test and
      warm-up: that is what the SIM pays;
    * ``dur_s``: wall time of the whole test; ``streams``, ``method``, ``server``;
    * ``stop``: why the test ended (``stable``, ``max_s``, ``max_bytes``,
      ``done`` or ``error``; ``giamsat-http`` only);
    * ``error``: one line when the test failed or was cut short by a fault.

    A figure that is not known is None. :attr:`outcome` says what the
    standards count (QCVN 81/126 §2.1.2 and §2.1.4).
    """

    method: str
    access: Access
    mbps: float | None = None
    bytes: int | None = None
    dur_s: float | None = None
    streams: int | None = None
    server: str | None = None
    stop: str | None = None
    error: str | None = None

    @property
    def outcome(self) -> str:
        """``completed``, ``dropped`` or ``not_started``: what §2.1.2 and §2.1.4 count.

        A transfer *started* when its access succeeded (a first response byte
        arrived); one that never did is an access failure (§2.1.2, counted from
        the ``access`` section), not a drop. A started transfer that then met a
        fault (a reset, a stall longer than the method's ``stall_s``, the
        server failing mid-transfer) is *dropped* (§2.1.4). Stopping at the
        configured time or byte limit is not a fault: the transfer completed.
        """
        if not self.access.ok:
            return NOT_STARTED
        return DROPPED if self.error is not None else COMPLETED

    def as_dict(self) -> dict[str, Any]:
        """Every figure known, access and error included: what benchmarks and diagnostics show."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def section(self) -> dict[str, Any]:
        """The record's ``dl``/``ul`` section: the outcome, and the figures it can stand by.

        Every transfer the probe attempted leaves a section, so the aggregator
        can count drops (§2.1.4). Only a completed transfer has a rate: one cut
        short by a fault, or never started, keeps its cost (``bytes``) and its
        circumstances but no ``mbps``. The access sample is a section of its
        own and the error goes to the record's ``errors``.
        """
        outcome = self.outcome
        figures = {k: v for k, v in self.as_dict().items() if k not in ("access", "error")}
        if outcome != COMPLETED:
            figures.pop("mbps", None)
        return {**figures, "outcome": outcome}


class ThroughputMethod(Protocol):
    name: str

    def measure(self, direction: Direction) -> TransferResult: ...


def create(name: str, options: Section) -> ThroughputMethod:
    """Instantiate the configured throughput method."""
    return plugins.create("throughput", name, options, "method")


def failure(
    method: str,
    error: str,
    *,
    access_s: float | None = None,
    moved: int | None = None,
    streams: int | None = None,
    server: str | None = None,
) -> TransferResult:
    """The result of a test that measured no rate: what is known, and why not.

    ``access_s`` is None when no response byte ever arrived (an access
    failure); ``moved`` is the bytes the test moved, None when it never ran.
    """
    return TransferResult(
        method=method,
        access=Access(access_s is not None, access_s),
        bytes=moved,
        streams=streams,
        server=server,
        error=error,
    )
