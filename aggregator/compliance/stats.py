"""Confidence intervals for the two kinds of KPI: shares and means.

Samples taken by one probe on one day share the radio path, the backhaul and
the hour's load, so they are not independent; treating 1,500 of them as 1,500
independent draws would give intervals far too narrow for an operator to
accept. Both estimators therefore work on clusters (probe-days):

* means: the ratio estimator sum/n with a percentile bootstrap that resamples
  whole clusters with replacement (seeded, so a verdict is reproducible);
* shares: the Wilson score interval, computed on the effective sample size
  n / deff, where the design effect deff comes from the between-cluster
  variance of the same ratio estimator (never below 1, so independent data
  get the textbook Wilson interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# Upper bound on resample cells held at once (resamples x clusters).
MAX_CELLS = 4_000_000


def resample_counts(rng: np.random.Generator, k: int, size: int) -> np.ndarray:
    """How often each of ``k`` clusters is drawn in each of ``size`` resamples.

    A float matrix (size x k) built from ``rng.integers(0, k, size=(size, k))``,
    so a resample's totals are one matrix product: far cheaper than gathering
    the drawn clusters' values one by one, and the same draws.
    """
    idx = rng.integers(0, k, size=(size, k))
    idx += np.arange(0, size * k, k)[:, None]
    return np.bincount(idx.ravel(), minlength=size * k).reshape(size, k).astype(float)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval and how the interval was obtained."""

    value: float
    low: float
    high: float
    method: str
    design_effect: float | None = None


def z_value(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; ``n`` may be an effective (fractional) size."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    z = z_value(confidence)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


def design_effect(successes: np.ndarray, totals: np.ndarray) -> float:
    """Variance of the clustered share estimator over its binomial variance, floored at 1."""
    k = len(totals)
    n = float(totals.sum())
    p = float(successes.sum()) / n
    if k < 2 or p <= 0.0 or p >= 1.0:
        return 1.0
    residuals = successes - p * totals
    clustered = k / (k - 1) * float(np.square(residuals).sum()) / (n * n)
    return max(1.0, clustered / (p * (1.0 - p) / n))


def clustered_share(
    successes: np.ndarray, totals: np.ndarray, confidence: float = 0.95
) -> Estimate:
    """Share of successes over clusters with a design-effect-corrected Wilson interval."""
    successes = np.asarray(successes, dtype=float)
    totals = np.asarray(totals, dtype=float)
    n = float(totals.sum())
    if n <= 0:
        raise ValueError("a share needs at least one sample")
    p = float(successes.sum()) / n
    deff = design_effect(successes, totals)
    low, high = wilson_interval(p * n / deff, n / deff, confidence)
    return Estimate(p, low, high, "wilson", deff)


def bootstrap_mean(
    sums: np.ndarray,
    counts: np.ndarray,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Mean (sum of sums / sum of counts) with a cluster bootstrap percentile interval.

    Each resample draws as many clusters as there are, with replacement, and
    recomputes the ratio. Resamples are drawn in blocks so thousands of
    clusters stay within a few tens of megabytes.
    """
    sums = np.asarray(sums, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if len(counts) == 0 or np.any(counts <= 0):
        raise ValueError("every cluster needs at least one sample")
    if resamples < 1:
        raise ValueError("resamples must be positive")
    z_value(confidence)  # validates the level
    k = len(counts)
    rng = np.random.default_rng(seed)
    ratios = np.empty(resamples)
    block = max(1, MAX_CELLS // k)
    columns = np.column_stack((sums, counts))
    for start in range(0, resamples, block):
        size = min(block, resamples - start)
        totals = resample_counts(rng, k, size) @ columns
        ratios[start : start + size] = totals[:, 0] / totals[:, 1]
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return Estimate(float(sums.sum() / counts.sum()), float(low), float(high), "bootstrap")
