"""One measurement cycle as the compliance engine sees it.

A :class:`Sample` is the part of a stored record that standards are judged on:
the columns of the ``records`` table plus the H3 cell. Raw samples and hourly
rollups go through the same aggregation code (:mod:`.rollup`), so a verdict
computed from records and one computed from rollups cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from giamsat.contract.record import parse_timestamp
from giamsat.contract.schema import ENVIRONMENTS

UNKNOWN = "unknown"  # operator or environment the record did not state
NO_TECH = "none"  # technology of a record without one (usually "no service")
NR_NSA = "NR-NSA"  # judged on its NR leg (``nr_rsrp_dbm``), not on its LTE anchor
# The technology an operator declares a service area for (Annex B), per record technology.
DECLARED_TECHNOLOGY: dict[str, str] = {"LTE": "4G", "NR-SA": "5G", NR_NSA: "5G"}


@dataclass(frozen=True)
class Sample:
    """A measurement cycle; None means "not measured", never zero.

    ``rsrp_dbm`` is the received level the sample's technology is judged on:
    RSRP for LTE, SS-RSRP for NR. An NR-NSA record carries two levels, the
    LTE anchor's (``sig.rsrp_dbm``) and the NR leg's (``sig.nr_rsrp_dbm``);
    it is a 5G sample, so its level is the NR leg's. An NR-NSA record with
    service but no NR leg reading has ``rsrp_dbm`` None and ``service``
    True: it proves no SS-RSRP at or above any level, so the 5G radio
    availability KPI must count it below the minimum level (in a rollup it is
    ``records - no_service - rsrp_dbm.n``), while coverage maps, which
    classify measured levels, leave it unrated.
    """

    t: datetime
    probe: str
    op: str
    tech: str
    env: str
    h3: str
    service: bool
    dl_mbps: float | None = None
    ul_mbps: float | None = None
    rtt_ms: float | None = None
    access_ok: bool | None = None
    access_s: float | None = None
    rsrp_dbm: float | None = None
    # What became of the cycle's download and upload (``completed``, ``dropped``,
    # ``not_started``), None when not tried or not reported: QCVN §2.1.4.
    dl_outcome: str | None = None
    ul_outcome: str | None = None
    # The minimum download speed the operator declared for the sample's place,
    # technology and day (QCVN 81 §2.1.5 Vdmin), None where it declared none.
    dl_vdmin_mbps: float | None = None

    def __post_init__(self) -> None:
        if self.t.tzinfo is None:
            raise ValueError(f"sample time {self.t} has no time zone")
        if self.env not in (*ENVIRONMENTS, UNKNOWN):
            raise ValueError(f"unknown environment {self.env!r}")

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Sample:
        """From a ``records`` row or a plain dict with the same keys; ``t`` may be ISO text.

        Missing ``op``/``env`` become ``"unknown"`` and a missing ``tech`` becomes
        ``"none"``, so such samples are kept (and counted) but never attributed.
        An NR-NSA row's level is its ``nr_rsrp_dbm`` (see the class docstring),
        so every 5G judgement, from rollups, maps or the offline verifier, reads
        SS-RSRP, whichever of them builds the sample.
        """
        t = row["t"]
        tech = row.get("tech") or NO_TECH
        return cls(
            t=parse_timestamp(t) if isinstance(t, str) else t,
            probe=row["probe"],
            op=row.get("op") or UNKNOWN,
            tech=tech,
            env=row.get("env") or UNKNOWN,
            h3=row["h3"],
            # Only an explicit False is "no service": an unreported flag is not a dead zone.
            service=row.get("service") is not False,
            dl_mbps=row.get("dl_mbps"),
            ul_mbps=row.get("ul_mbps"),
            rtt_ms=row.get("rtt_ms"),
            access_ok=row.get("access_ok"),
            access_s=row.get("access_s"),
            rsrp_dbm=row.get("nr_rsrp_dbm") if tech == NR_NSA else row.get("rsrp_dbm"),
            dl_outcome=row.get("dl_outcome"),
            ul_outcome=row.get("ul_outcome"),
        )
