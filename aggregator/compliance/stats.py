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

Every figure is a function of the data alone, bit for bit: sums are taken
with ``math.fsum`` (exactly rounded, so independent of order), and the
bootstrap's matrix product is made exact (:func:`resample_totals`), so the
BLAS kernel, its blocking and its thread count cannot change a last digit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# Upper bound on resample cells held at once (resamples x clusters). Small enough
# that a block's arrays (2 MB of counts) stay in cache and are reused from the
# allocator's heap rather than mapped and page-faulted afresh: a month's national
# table draws a third faster than with blocks of 4 M cells. Blocks do not change
# the draws (numpy's stream does not depend on how they are split).
MAX_CELLS = 1 << 18


def resample_counts(rng: np.random.Generator, k: int, size: int) -> np.ndarray:
    """How often each of ``k`` clusters is drawn in each of ``size`` resamples.

    A float matrix (size x k) built from ``rng.integers(0, k, size=(size, k))``,
    so a resample's totals are one matrix product: far cheaper than gathering
    the drawn clusters' values one by one, and the same draws.
    """
    idx = rng.integers(0, k, size=(size, k))
    idx += np.arange(0, size * k, k)[:, None]
    return np.bincount(idx.ravel(), minlength=size * k).reshape(size, k).astype(float)


def _split_exact(columns: np.ndarray, k: int) -> np.ndarray:
    """``columns`` (k rows) as [high | low]: parts whose products with counts are exact.

    Each part of a column lies on a power-of-two grid ``g = 2**(e - 52)``,
    where ``2**e`` exceeds ``k`` times the largest magnitude in that column
    (or in what the high part left over). A product of such a part with a
    row of counts (nonnegative integers summing to ``k``) adds terms
    ``count * value`` that are whole multiples of ``g``, and every partial
    sum of them, whatever the order, grouping or use of fused multiply-add,
    is a whole multiple of ``g`` no larger in magnitude than ``k * max|part|
    <= k * max|column| + k * g / 2 < 2**e + 2**e = 2**53 * g`` (for any
    ``k < 2**53``): a float holds it exactly. The two parts together hold each
    value to within ``k**2 * 2**-104`` of its column's largest magnitude, so
    what is dropped lies far below the last bit of any total.
    """
    parts, rest = [], columns
    for _ in range(2):
        top = np.max(np.abs(rest), axis=0) * k
        # Clamped at the smallest subnormal power of two: a coarser grid keeps the bound.
        grid = np.ldexp(1.0, np.maximum(np.frexp(top)[1] - 52, -1074))
        grid[top == 0] = 1.0
        part = np.round(rest / grid) * grid
        parts.append(part)
        rest = rest - part
    return np.hstack(parts)


def resample_totals(counts: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``counts @ columns``, the same bits on every machine, for :func:`resample_counts`'s counts.

    ``counts`` is (resamples x k) of nonnegative whole numbers, each row
    summing to ``k``; ``columns`` is (k x m). A plain float matrix product
    adds in the order the BLAS kernel chooses, which depends on the CPU, the
    library build, the shape of the matrices and the number of threads, so
    the same data could give intervals differing in their last digit. Here
    each column is split into two parts whose products are exact sums
    (:func:`_split_exact`), and the two exact totals are added once (one
    rounding, as close to the true product as a float can be, give or take
    the far smaller part dropped by the split): the result depends on the
    data only, and a column's totals do not depend on which other columns
    share the product.
    """
    k = counts.shape[1]
    if columns.shape[0] != k:
        raise ValueError(f"{columns.shape[0]} rows of values for {k} clusters")
    both = counts @ _split_exact(np.asarray(columns, dtype=float), k)
    m = columns.shape[1]
    return both[:, :m] + both[:, m:]


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
    n = math.fsum(totals)
    p = math.fsum(successes) / n
    if k < 2 or p <= 0.0 or p >= 1.0:
        return 1.0
    residuals = successes - p * totals
    clustered = k / (k - 1) * math.fsum(np.square(residuals)) / (n * n)
    return max(1.0, clustered / (p * (1.0 - p) / n))


def clustered_share(
    successes: np.ndarray, totals: np.ndarray, confidence: float = 0.95
) -> Estimate:
    """Share of successes over clusters with a design-effect-corrected Wilson interval."""
    successes = np.asarray(successes, dtype=float)
    totals = np.asarray(totals, dtype=float)
    n = math.fsum(totals)
    if n <= 0:
        raise ValueError("a share needs at least one sample")
    p = math.fsum(successes) / n
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
    clusters stay within a few tens of megabytes. The point estimate is a
    ratio of ``math.fsum`` sums and each resample's totals come from
    :func:`resample_totals`, so the interval is the same bits on any machine.
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
        totals = resample_totals(resample_counts(rng, k, size), columns)
        ratios[start : start + size] = totals[:, 0] / totals[:, 1]
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return Estimate(math.fsum(sums) / math.fsum(counts), float(low), float(high), "bootstrap")
