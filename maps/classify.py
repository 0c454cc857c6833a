"""Coverage classes of a hexagon against the configurable coverage standard.

Rules, in order (``s`` is one :class:`~giamsat.maps.stats.HexStats`):

1. ``s.n == 0`` -> ``UNMEASURED``: nobody measured there.
2. ``s.n < min_samples`` or ``s.days < min_days`` -> ``INSUFFICIENT``: measured,
   but too little to call anything. This is a kind of *unmeasured* and is drawn
   grey and hatched like it, never red and never green: three unlucky samples
   on one afternoon are not a dead zone, and three lucky ones are not coverage.
3. no-service share ``>= dead_no_service_share`` -> ``DEAD``.
4. no median RSRP (samples had service but reported no signal level) ->
   ``INSUFFICIENT``: the signal was not measured.
5. median RSRP ``< dead_dbm`` -> ``DEAD`` (strictly below: -120 dBm itself is weak).
6. median RSRP ``>= covered_dbm`` and no-service share
   ``<= covered_max_no_service_share`` -> ``COVERED`` (at the threshold counts as
   covered, as the standard's "at/above" wording says).
7. otherwise -> ``WEAK``.

Rule 6's availability condition mirrors QCVN 81's 95 % radio availability: a
cell with a good median but one sample in ten without service is not covered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from giamsat.maps.stats import HexStats


class CoverageClass(StrEnum):
    COVERED = "covered"
    WEAK = "weak"
    DEAD = "dead"
    INSUFFICIENT = "insufficient"
    UNMEASURED = "unmeasured"

    @property
    def is_unmeasured(self) -> bool:
        """Both kinds of "we cannot say": drawn alike, never as good or dead."""
        return self in (CoverageClass.UNMEASURED, CoverageClass.INSUFFICIENT)


@dataclass(frozen=True, slots=True)
class SignalThresholds:
    """RSRP limits of one technology family, in dBm."""

    covered_dbm: float
    dead_dbm: float

    def __post_init__(self) -> None:
        if self.dead_dbm > self.covered_dbm:
            raise ValueError(f"dead threshold {self.dead_dbm} above covered {self.covered_dbm}")


def _default_signal() -> dict[str, SignalThresholds]:
    # LTE: IMDA's -109 dBm coverage level; NR: SS-RSRP -110 dBm. No published dead
    # level for NR exists, so NR uses the LTE one until a standard says otherwise.
    return {
        "LTE": SignalThresholds(covered_dbm=-109.0, dead_dbm=-120.0),
        "NR": SignalThresholds(covered_dbm=-110.0, dead_dbm=-120.0),
    }


@dataclass(frozen=True)
class CoverageStandard:
    """Thresholds and sample minimums for coverage classes; every field configurable.

    ``signal`` is keyed by technology family; a technology such as ``NR-NSA``
    uses the entry of its family (the part before the first ``-``).
    """

    signal: Mapping[str, SignalThresholds] = field(default_factory=_default_signal)
    dead_no_service_share: float = 0.5
    covered_max_no_service_share: float = 0.05
    min_samples: int = 10
    min_days: int = 3

    def __post_init__(self) -> None:
        for name in ("dead_no_service_share", "covered_max_no_service_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share in 0..1")
        if self.min_samples < 1 or self.min_days < 1:
            raise ValueError("min_samples and min_days must be at least 1")

    def thresholds(self, tech: str) -> SignalThresholds:
        """The RSRP limits for ``tech``; a technology without limits is an error, not a guess."""
        for key in (tech, tech.split("-", 1)[0]):
            if key in self.signal:
                return self.signal[key]
        raise ValueError(f"no coverage thresholds for technology {tech!r}")


def classify(stats: HexStats, standard: CoverageStandard) -> CoverageClass:
    """The coverage class of one hexagon (rules in the module docstring)."""
    if stats.n == 0:
        return CoverageClass.UNMEASURED
    if stats.n < standard.min_samples or stats.days < standard.min_days:
        return CoverageClass.INSUFFICIENT
    limits = standard.thresholds(stats.tech)
    share = stats.n_no_service / stats.n
    if share >= standard.dead_no_service_share:
        return CoverageClass.DEAD
    if stats.rsrp_median_dbm is None:
        return CoverageClass.INSUFFICIENT
    if stats.rsrp_median_dbm < limits.dead_dbm:
        return CoverageClass.DEAD
    if (
        stats.rsrp_median_dbm >= limits.covered_dbm
        and share <= standard.covered_max_no_service_share
    ):
        return CoverageClass.COVERED
    return CoverageClass.WEAK
