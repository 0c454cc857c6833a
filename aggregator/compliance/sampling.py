"""Is the sampling strong enough to be evidence, or only an early warning?

A verdict says *what* failed; this says whether an operator could dismiss it
on procedure. Evidence grade means the rules for the KPI's samples were met:
the KPI's own rules where the standard gives it some (QCVN 81's radio
availability wants 100,000 outdoor-mobile samples at different hours of the
day), the standard's otherwise: the total, the minimum per measurement
environment, the minimum spacing between one device's samples (per probe and
operator, see :func:`~giamsat.aggregator.aggregates.rollup.build_rollups`)
and, where the rules say so, how the samples spread over the hours of the
day. Anything less is early-warning grade, and the unmet rules are listed so
an inspector knows what to collect. Below the (lower) early-warning minimums
the engine gives no verdict at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from giamsat.aggregator.compliance.standards import HourSpread, Kpi, Standard
from giamsat.contract.schema import ENVIRONMENTS

EVIDENCE = "evidence"
EARLY_WARNING = "early_warning"


@dataclass(frozen=True)
class SamplingCheck:
    grade: str
    unmet: tuple[str, ...]
    insufficient: tuple[str, ...]
    samples: int
    per_env: dict[str, int]
    probe_days: int
    close_samples: int

    @property
    def sufficient(self) -> bool:
        """Whether the early-warning minimums are met, i.e. a verdict may be given at all."""
        return not self.insufficient


def hour_problems(rule: HourSpread, hours: Mapping[str, Sequence[int]]) -> list[str]:
    """What the samples' spread over the local hours of the day lacks (see :class:`HourSpread`).

    ``hours`` holds, per environment, the samples in each local hour 0..23.
    """
    envs = rule.envs or tuple(hours)
    counts = [sum(hours[env][h] for env in envs if env in hours) for h in range(24)]
    total = sum(counts)
    which = "+".join(rule.envs) if rule.envs else "all"
    if total == 0:
        return [f"hours: no {which} samples"]
    problems = []
    if rule.max_share_pct is not None:
        busiest = max(range(24), key=lambda h: counts[h])
        share = 100.0 * counts[busiest] / total
        if share > rule.max_share_pct:
            problems.append(
                f"hours.max_share_pct: {share:.1f} % of {which} samples in hour"
                f" {busiest:02d}:00-{busiest:02d}:59 > {rule.max_share_pct:g} %"
            )
    covered = sum(1 for n in counts if n)
    if rule.min_hours is not None and covered < rule.min_hours:
        problems.append(f"hours.min_hours: {which} samples in {covered} hours < {rule.min_hours}")
    return problems


def check_sampling(
    standard: Standard,
    samples: int,
    per_env: dict[str, int],
    probe_days: int,
    close_samples: int,
    *,
    kpi: Kpi | None = None,
    hours: Mapping[str, Sequence[int]] | None = None,
) -> SamplingCheck:
    """Grade one KPI's sample set against its sampling rules (``kpi``'s own, or the standard's).

    ``close_samples`` counts samples closer than those rules' spacing to the
    device's previous one; ``hours`` (per environment, samples per local
    hour) is needed only when the rules have an hours rule.
    """
    rules = standard.sampling if kpi is None else standard.rules_for(kpi)
    unmet: list[str] = []
    if samples < rules.min_samples:
        unmet.append(f"min_samples: {samples} < {rules.min_samples}")
    for env in ENVIRONMENTS:
        needed = rules.per_env.get(env, 0)
        have = per_env.get(env, 0)
        if have < needed:
            unmet.append(f"per_env.{env}: {have} < {needed}")
    if close_samples:
        unmet.append(
            f"min_spacing_s: {close_samples} samples taken less than "
            f"{rules.min_spacing_s:g} s after the same device's previous sample"
        )
    if rules.hours is not None:
        unmet += hour_problems(rules.hours, hours or {})
    early = standard.early_warning
    insufficient: list[str] = []
    if samples < early.min_samples:
        insufficient.append(f"early_warning.min_samples: {samples} < {early.min_samples}")
    if probe_days < early.min_probe_days:
        insufficient.append(f"early_warning.min_probe_days: {probe_days} < {early.min_probe_days}")
    return SamplingCheck(
        grade=EARLY_WARNING if unmet else EVIDENCE,
        unmet=tuple(unmet),
        insufficient=tuple(insufficient),
        samples=samples,
        per_env=dict(sorted(per_env.items())),
        probe_days=probe_days,
        close_samples=close_samples,
    )
