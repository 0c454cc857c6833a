"""Numbers the pages show, computed from summed rollups (pure functions, no database).

Medians come from the fixed-edge histograms of the rollups: the median is
placed inside the bin that holds it, by linear interpolation of its rank
within the bin. Because coverage thresholds are histogram edges, an
estimate inside the right bin is always on the right side of every
threshold, so a hexagon's class from the estimated median is the class the
exact median would give. The two open-ended bins have no width to
interpolate in and report their finite edge.

Samples without a technology (the probe found no network at all, see
:data:`giamsat.aggregator.aggregates.samples.NO_TECH`) belong to no coverage
technology by themselves. They count for every coverage technology the
operator served somewhere in the period — a village where Viettel has no
service is a dead zone on Viettel's LTE map and on its NR map — and, for an
operator that served nothing at all in the period, for every technology.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, count_at_least
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance.coverage import CoverageStandard
from giamsat.aggregator.store.hexes import attributed_families


@dataclass(frozen=True)
class MonthRow:
    """One month's rollups of an operator and record technology, summed."""

    month: str
    op: str
    tech: str
    records: int
    no_service: int
    dl_n: int
    dl_sum: float
    rtt_n: int
    rtt_sum: float
    rsrp_n: int
    rsrp_hist: Sequence[int]


@dataclass(frozen=True)
class MonthlyKpi:
    """What the trends page draws for one operator and month; shares in percent."""

    month: str
    op: str
    records: int
    dl_mean_mbps: float | None
    rtt_mean_ms: float | None
    no_service_pct: float | None
    covered_pct: float | None


def monthly_kpis(
    rows: Sequence[MonthRow],
    coverage: CoverageStandard,
    family: str | None,
    served: Mapping[str, set[str]],
) -> list[MonthlyKpi]:
    """Monthly KPIs per operator, over one coverage technology or (``None``) all of them.

    Means are sums over counts; the no-service share is over all samples; the
    covered share is samples at or above the technology's covered level over
    samples with an RSRP plus samples without service (as
    :func:`giamsat.aggregator.compliance.coverage.coverage_counts` counts them).
    With ``family=None`` every row counts, including 2G/3G ones, which add to
    the means and the no-service share but have no RSRP threshold.
    """
    tech_family = {t: name for name, rule in coverage.rules.items() for t in rule.record_techs}
    families = list(coverage.rules)
    sums: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        row_family = tech_family.get(row.tech)
        if family is not None:
            if row.tech == NO_TECH:
                if family not in attributed_families(served, row.op, families):
                    continue
            elif row_family != family:
                continue
        acc = sums.setdefault(
            (row.month, row.op),
            dict.fromkeys(("records", "no_service", "dl_n", "dl_sum", "rtt_n", "rtt_sum"), 0.0)
            | {"rated": 0.0, "covered": 0.0},
        )
        acc["records"] += row.records
        acc["no_service"] += row.no_service
        acc["dl_n"] += row.dl_n
        acc["dl_sum"] += row.dl_sum
        acc["rtt_n"] += row.rtt_n
        acc["rtt_sum"] += row.rtt_sum
        acc["rated"] += row.no_service
        if row_family is not None:
            rule = coverage.rules[row_family]
            acc["rated"] += row.rsrp_n
            acc["covered"] += count_at_least(row.rsrp_hist, RSRP_EDGES_DBM, rule.covered_dbm)
    result = []
    for (month, op), acc in sorted(sums.items()):
        result.append(
            MonthlyKpi(
                month=month,
                op=op,
                records=int(acc["records"]),
                dl_mean_mbps=_ratio(acc["dl_sum"], acc["dl_n"]),
                rtt_mean_ms=_ratio(acc["rtt_sum"], acc["rtt_n"]),
                no_service_pct=_ratio(100.0 * acc["no_service"], acc["records"]),
                covered_pct=_ratio(100.0 * acc["covered"], acc["rated"]),
            )
        )
    return result


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None
