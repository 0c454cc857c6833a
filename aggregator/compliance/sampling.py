"""Is the sampling strong enough to be evidence, or only an early warning?

A verdict says *what* failed; this says whether an operator could dismiss it
on procedure. Evidence grade means the standard's own rules were met for the
KPI's samples: the total, the minimum per measurement environment and the
minimum spacing between one device's samples. Anything less is early-warning
grade, and the unmet rules are listed so an inspector knows what to collect.
Below the (lower) early-warning minimums the engine gives no verdict at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from giamsat.aggregator.compliance.standards import Standard
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


def check_sampling(
    standard: Standard,
    samples: int,
    per_env: dict[str, int],
    probe_days: int,
    close_samples: int,
) -> SamplingCheck:
    """Grade one KPI's sample set against ``standard``'s sampling rules."""
    rules = standard.sampling
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
