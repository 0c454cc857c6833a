"""Coverage classes on hand-built aggregates, including every threshold edge."""

from __future__ import annotations

from datetime import UTC, datetime

import h3
import pytest

from giamsat.maps.classify import CoverageClass, CoverageStandard, SignalThresholds, classify
from giamsat.maps.stats import HexStats

CELL = h3.latlng_to_cell(22.61, 105.87, 8)
STANDARD = CoverageStandard()


def stat(
    *,
    n: int = 40,
    no_service: int = 0,
    days: int = 7,
    rsrp: float | None = -100.0,
    tech: str = "LTE",
) -> HexStats:
    return HexStats(
        h3=CELL,
        op="Viettel",
        tech=tech,
        n=n,
        n_no_service=no_service,
        days=days,
        rsrp_median_dbm=rsrp,
        dl_median_mbps=10.0 if rsrp is not None else None,
        period_from=datetime(2026, 11, 1, tzinfo=UTC),
        period_to=datetime(2026, 11, 30, tzinfo=UTC),
    )


def test_no_samples_is_unmeasured() -> None:
    assert classify(stat(n=0, rsrp=None, days=0), STANDARD) is CoverageClass.UNMEASURED


@pytest.mark.parametrize(
    ("n", "no_service", "days"),
    [
        (9, 9, 10),  # all no service, but one sample short of the minimum
        (10, 10, 2),  # enough samples, one day short
        (1, 1, 1),
    ],
)
def test_too_little_evidence_is_never_dead(n: int, no_service: int, days: int) -> None:
    cls = classify(stat(n=n, no_service=no_service, days=days, rsrp=None), STANDARD)
    assert cls is CoverageClass.INSUFFICIENT
    assert cls.is_unmeasured


def test_too_little_evidence_is_never_covered() -> None:
    assert classify(stat(n=5, rsrp=-70.0), STANDARD) is CoverageClass.INSUFFICIENT
    assert classify(stat(n=50, days=2, rsrp=-70.0), STANDARD) is CoverageClass.INSUFFICIENT


def test_minimum_evidence_exactly_met_allows_dead() -> None:
    assert classify(stat(n=10, no_service=10, days=3, rsrp=None), STANDARD) is CoverageClass.DEAD


def test_no_service_share_at_threshold_is_dead() -> None:
    assert classify(stat(n=40, no_service=20, rsrp=-95.0), STANDARD) is CoverageClass.DEAD
    assert classify(stat(n=40, no_service=19, rsrp=-95.0), STANDARD) is not CoverageClass.DEAD


@pytest.mark.parametrize(
    ("rsrp", "expected"),
    [
        (-120.0, CoverageClass.WEAK),  # dead is strictly below -120
        (-120.1, CoverageClass.DEAD),
        (-109.0, CoverageClass.COVERED),  # covered at the threshold
        (-109.1, CoverageClass.WEAK),
        (-80.0, CoverageClass.COVERED),
    ],
)
def test_lte_rsrp_edges(rsrp: float, expected: CoverageClass) -> None:
    assert classify(stat(rsrp=rsrp), STANDARD) is expected


@pytest.mark.parametrize("tech", ["NR", "NR-NSA", "NR-SA"])
def test_nr_uses_its_own_covered_threshold(tech: str) -> None:
    assert classify(stat(rsrp=-110.0, tech=tech), STANDARD) is CoverageClass.COVERED
    assert classify(stat(rsrp=-110.5, tech=tech), STANDARD) is CoverageClass.WEAK
    # -109.5 would be weak for LTE but is covered for NR
    assert classify(stat(rsrp=-109.5, tech=tech), STANDARD) is CoverageClass.COVERED
    assert classify(stat(rsrp=-109.5, tech="LTE"), STANDARD) is CoverageClass.WEAK


def test_good_median_with_poor_availability_is_weak() -> None:
    assert classify(stat(n=100, no_service=5, rsrp=-90.0), STANDARD) is CoverageClass.COVERED
    assert classify(stat(n=100, no_service=6, rsrp=-90.0), STANDARD) is CoverageClass.WEAK


def test_service_without_signal_level_is_insufficient() -> None:
    assert classify(stat(n=40, no_service=3, rsrp=None), STANDARD) is CoverageClass.INSUFFICIENT


def test_unknown_technology_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="UMTS"):
        classify(stat(tech="UMTS"), STANDARD)


def test_thresholds_are_configurable() -> None:
    strict = CoverageStandard(
        signal={"LTE": SignalThresholds(covered_dbm=-100.0, dead_dbm=-110.0)},
        dead_no_service_share=0.2,
        min_samples=50,
        min_days=5,
    )
    assert classify(stat(n=60, rsrp=-105.0), strict) is CoverageClass.WEAK
    assert classify(stat(n=60, rsrp=-111.0), strict) is CoverageClass.DEAD
    assert classify(stat(n=60, no_service=12, rsrp=-90.0), strict) is CoverageClass.DEAD
    assert classify(stat(n=40, rsrp=-90.0), strict) is CoverageClass.INSUFFICIENT
    assert classify(stat(n=60, days=4, rsrp=-90.0), strict) is CoverageClass.INSUFFICIENT


def test_invalid_standard_is_rejected() -> None:
    with pytest.raises(ValueError):
        CoverageStandard(dead_no_service_share=1.5)
    with pytest.raises(ValueError):
        SignalThresholds(covered_dbm=-120.0, dead_dbm=-100.0)


def test_inconsistent_stats_are_rejected() -> None:
    with pytest.raises(ValueError, match="n_no_service"):
        stat(n=5, no_service=6)
    with pytest.raises(ValueError, match="H3"):
        HexStats("nonsense", "Viettel", "LTE", 1, 0, 1, None, None, *[datetime.now(UTC)] * 2)
