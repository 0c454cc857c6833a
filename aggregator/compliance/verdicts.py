"""Verdicts: for one standard, operator, area and period, each KPI judged with its interval.

The rule is chosen so an operator cannot argue with a FAIL: it is given only
when the whole confidence interval lies on the wrong side of the limit. When
the estimate is on the wrong side but the interval reaches the limit the
verdict is AT_RISK (watch it, collect more); below the early-warning sample
minimums it is INSUFFICIENT_DATA. Separately, each verdict carries its
sampling grade (evidence or early warning) and the rules that were not met,
the version of the standard it was judged by, and, when the KPI's
definition, threshold or limit has not been confirmed from the official
text, the standard file's note saying so (``unconfirmed``): a verdict resting
on an unconfirmed figure is shown as such wherever it appears.

Both standards judge an operator within the service area it declared
(Annex B). Which samples a verdict counted is its :class:`Scope`: the
declarations in force during the period (by SHA-256), the samples left out
because they lay outside them, and the days on which the operator had
declared nothing, when every sample of the day counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import numpy as np

from giamsat.aggregator.aggregates.rollup import Rollup
from giamsat.aggregator.compliance.clusters import Period, kpi_data, prepare
from giamsat.aggregator.compliance.operators import Operator
from giamsat.aggregator.compliance.sampling import SamplingCheck, check_sampling
from giamsat.aggregator.compliance.standards import Kpi, Standard
from giamsat.aggregator.compliance.stats import Estimate, bootstrap_mean, clustered_share


class Verdict(StrEnum):
    PASS = "PASS"
    AT_RISK = "AT_RISK"
    FAIL = "FAIL"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


def decide(value: float, low: float, high: float, comparator: str, limit: float) -> Verdict:
    """PASS / AT_RISK / FAIL from an estimate, its interval and the limit."""
    if comparator == ">=":
        wholly_wrong, estimate_wrong = high < limit, value < limit
    elif comparator == "<=":
        wholly_wrong, estimate_wrong = low > limit, value > limit
    else:
        raise ValueError(f"unknown comparator {comparator!r}")
    if wholly_wrong:
        return Verdict.FAIL
    return Verdict.AT_RISK if estimate_wrong else Verdict.PASS


@dataclass(frozen=True)
class Scope:
    """Which of an operator's samples a verdict counted: those in its declared service area.

    On a day when a declaration of the operator for the technology is in
    force, a sample counts only inside it; samples outside (``outside``) are
    counted apart and never held against the operator. On a day when none is
    in force (``undeclared_days`` of the period) every sample counts: an
    operator cannot escape a verdict by declaring nothing, and the verdict
    says it declared nothing. ``declarations`` are the SHA-256 of every
    declaration in force on some day of the period, oldest first.
    """

    declarations: tuple[str, ...]
    undeclared_days: int
    outside: int

    @classmethod
    def nothing_declared(cls, period: Period) -> Scope:
        return cls((), (period.end - period.start).days + 1, 0)

    @property
    def declared(self) -> str:
        """ "whole" (a declaration every day), "part" (some days) or "none"."""
        if not self.declarations:
            return "none"
        return "part" if self.undeclared_days else "whole"

    def describe(self, operator: str, technology: str) -> str:
        """One sentence for reports: what the verdict counted, in English."""
        if self.declared == "none":
            return (
                f"{operator} declared no {technology} service area for this period:"
                " every sample was judged."
            )
        names = ", ".join(sha[:12] for sha in self.declarations)
        text = f"Judged inside {operator}'s declared {technology} service area ({names})"
        if self.declared == "part":
            text += f"; on {self.undeclared_days} day(s) with no declaration every sample counted"
        return text + f"; {self.outside} sample(s) outside it not counted."

    def describe_vi(self, operator: str, technology: str) -> str:
        """The same sentence in Vietnamese."""
        if self.declared == "none":
            return (
                f"{operator} không công bố vùng phục vụ {technology} trong kỳ này:"
                " mọi mẫu đo đều được đánh giá."
            )
        names = ", ".join(sha[:12] for sha in self.declarations)
        text = f"Đánh giá trong vùng phục vụ {technology} do {operator} công bố ({names})"
        if self.declared == "part":
            text += f"; {self.undeclared_days} ngày không có công bố thì mọi mẫu đo đều được tính"
        return text + f"; {self.outside} mẫu đo ngoài vùng không được tính."

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        return cls(tuple(data["declarations"]), int(data["undeclared_days"]), int(data["outside"]))


@dataclass(frozen=True)
class KpiVerdict:
    """One KPI's finding, self-contained so a case or a notice can quote it alone.

    Shares are in percent (``unit`` "%"); ``value``/``ci_low``/``ci_high`` are
    None only when there was no sample at all. ``version`` names the version of
    the standard in force for the period; ``unconfirmed`` is the standard's
    note on what of this KPI is not confirmed from the official text, None
    when all of it is. ``scope`` says which samples counted (the declared
    service area). All three are None in verdicts stored before they existed.
    """

    standard_id: str
    kpi_id: str
    name_vi: str
    name_en: str
    metric: str
    operator: str
    technology: str
    area: str
    period_start: date
    period_end: date
    comparator: str
    limit: float
    unit: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    method: str
    design_effect: float | None
    samples: int
    probe_days: int
    per_env: dict[str, int]
    close_samples: int
    verdict: Verdict
    grade: str
    unmet: tuple[str, ...]
    insufficient: tuple[str, ...]
    version: str | None = None
    unconfirmed: str | None = None
    scope: Scope | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiVerdict:
        """Inverse of ``dataclasses.asdict`` after a JSON round trip (see :mod:`.render`)."""
        values = dict(data)
        values["period_start"] = date.fromisoformat(str(values["period_start"]))
        values["period_end"] = date.fromisoformat(str(values["period_end"]))
        values["verdict"] = Verdict(values["verdict"])
        values["unmet"] = tuple(values["unmet"])
        values["insufficient"] = tuple(values["insufficient"])
        values["per_env"] = dict(values["per_env"])
        if values.get("scope") is not None:
            values["scope"] = Scope.from_dict(values["scope"])
        return cls(**values)


@dataclass(frozen=True)
class Assessment:
    """All KPIs of one standard for one operator, area and period, with how they were computed.

    ``version`` and ``version_from`` name the version of the standard in force
    for the whole period, and the day it took effect (None when the file does
    not say when the text as issued did). ``scope`` says which samples
    counted: those inside the operator's declared service area.
    """

    standard_id: str
    code: str
    title_vi: str
    title_en: str
    citation_vi: str
    citation_en: str
    operator: str
    technology: str
    area: str
    period_start: date
    period_end: date
    confidence: float
    resamples: int
    seed: int
    kpis: tuple[KpiVerdict, ...]
    version: str | None = None
    version_from: date | None = None
    scope: Scope | None = None

    def kpi(self, kpi_id: str) -> KpiVerdict:
        for verdict in self.kpis:
            if verdict.kpi_id == kpi_id:
                return verdict
        raise KeyError(f"assessment has no KPI {kpi_id!r}")


def _estimate(
    kpi: Kpi,
    numerators: np.ndarray,
    denominators: np.ndarray,
    confidence: float,
    resamples: int,
    seed: int,
) -> Estimate:
    if kpi.is_share:
        share = clustered_share(numerators, denominators, confidence)
        return Estimate(
            share.value * 100.0,
            share.low * 100.0,
            share.high * 100.0,
            share.method,
            share.design_effect,
        )
    return bootstrap_mean(numerators, denominators, confidence, resamples, seed)


def kpi_verdict(
    standard: Standard,
    operator: Operator,
    kpi: Kpi,
    estimate: Estimate | None,
    check: SamplingCheck,
    *,
    area: str,
    period: Period,
    samples: int,
    probe_days: int,
    confidence: float,
    scope: Scope,
) -> KpiVerdict:
    """One KPI's finding from its estimate and sampling check: the one place a verdict is made."""
    limit = operator.limit_for(standard, kpi)
    if estimate is None or not check.sufficient:
        verdict = Verdict.INSUFFICIENT_DATA
    else:
        verdict = decide(estimate.value, estimate.low, estimate.high, kpi.comparator, limit)
    return KpiVerdict(
        standard_id=standard.id,
        kpi_id=kpi.id,
        name_vi=kpi.name_vi,
        name_en=kpi.name_en,
        metric=kpi.metric,
        operator=operator.name,
        technology=standard.technology,
        area=area,
        period_start=period.start,
        period_end=period.end,
        comparator=kpi.comparator,
        limit=limit,
        unit=kpi.unit,
        value=None if estimate is None else estimate.value,
        ci_low=None if estimate is None else estimate.low,
        ci_high=None if estimate is None else estimate.high,
        confidence=confidence,
        method="wilson" if kpi.is_share else "bootstrap",
        design_effect=None if estimate is None else estimate.design_effect,
        samples=samples,
        probe_days=probe_days,
        per_env=check.per_env,
        close_samples=check.close_samples,
        verdict=verdict,
        grade=check.grade,
        unmet=check.unmet,
        insufficient=check.insufficient,
        version=standard.version,
        unconfirmed=kpi.unconfirmed,
        scope=scope,
    )


def evaluate(
    standard: Standard,
    operator: Operator,
    rows: Iterable[Rollup],
    *,
    area: str,
    period: Period,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    scope: Scope | None = None,
) -> Assessment:
    """Judge every KPI of ``standard`` for ``operator`` on the rollups of ``area``.

    ``rows`` may hold other operators, technologies and days: only the
    operator's rows in the standard's technologies and in ``period`` count.
    The caller chooses the rows of the area (the H3 cells of a commune,
    district or province) and names it in ``area``. The KPIs are those of
    the version of the standard in force for the whole period; a period two
    versions share is refused (:class:`~.standards.VersionSpanError`).

    ``rows`` are those the ``scope`` counts (inside the declared service
    area, :func:`giamsat.aggregator.compliance.assess.rollups_for`); without
    a scope the operator declared nothing for the period.
    """
    standard = standard.for_period(period.start, period.end)
    scope = scope or Scope.nothing_declared(period)
    prepared = prepare(standard, operator.name, rows, period)
    verdicts: list[KpiVerdict] = []
    for kpi in standard.kpis:
        data = kpi_data(kpi, prepared, standard.rules_for(kpi))
        check = check_sampling(
            standard, data.samples, data.per_env, len(data.clusters), data.close_samples,
            kpi=kpi, hours=data.hours,
        )  # fmt: skip
        estimate: Estimate | None = None
        if data.samples:
            estimate = _estimate(
                kpi, data.numerators, data.denominators, confidence, resamples, seed
            )
        verdicts.append(
            kpi_verdict(
                standard,
                operator,
                kpi,
                estimate,
                check,
                area=area,
                period=period,
                samples=data.samples,
                probe_days=len(data.clusters),
                confidence=confidence,
                scope=scope,
            )
        )
    method = (confidence, resamples, seed)
    return assessment(standard, operator, area, period, verdicts, method, scope)


def assessment(
    standard: Standard,
    operator: Operator,
    area: str,
    period: Period,
    verdicts: Iterable[KpiVerdict],
    method: tuple[float, int, int],
    scope: Scope,
) -> Assessment:
    """The KPI verdicts with what they judged; ``method`` is (confidence, resamples, seed).

    ``standard`` is the standard as in force for ``period`` (:meth:`Standard.for_period`).
    """
    confidence, resamples, seed = method
    return Assessment(
        standard_id=standard.id,
        code=standard.code,
        title_vi=standard.title_vi,
        title_en=standard.title_en,
        citation_vi=standard.citation_vi,
        citation_en=standard.citation_en,
        operator=operator.name,
        technology=standard.technology,
        area=area,
        period_start=period.start,
        period_end=period.end,
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        kpis=tuple(verdicts),
        version=standard.version,
        version_from=standard.effective_from,
        scope=scope,
    )
