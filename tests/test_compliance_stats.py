"""Interval estimators: known values, clustering, speed, and coverage of the truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from giamsat.aggregator.aggregates.rollup import build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.compliance import stats
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.standards import load_standard
from giamsat.aggregator.compliance.stats import (
    bootstrap_mean,
    clustered_share,
    design_effect,
    wilson_interval,
)
from giamsat.aggregator.compliance.verdicts import evaluate
from giamsat.contract.timezone import VIETNAM_TZ
from tests.support.truth import Truth, generate

CONFIG = Path(__file__).resolve().parent.parent / "config"
QCVN_126 = load_standard(CONFIG / "standards" / "qcvn-126-2021.toml")
QCVN_81 = load_standard(CONFIG / "standards" / "qcvn-81-2019.toml")
VIETTEL = load_operators(CONFIG / "operators.toml")["Viettel"]
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def test_wilson_matches_known_values() -> None:
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson_interval(10, 10) == pytest.approx((0.72247, 1.0), abs=1e-5)
    low99, high99 = wilson_interval(5, 10, 0.99)
    assert low99 < 0.23659 and high99 > 0.76341
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, 1.0)


def test_design_effect_is_one_for_homogeneous_clusters_and_large_for_clustered_ones() -> None:
    totals = np.full(20, 100.0)
    even = np.full(20, 10.0)  # every cluster at the pooled 10 %
    assert design_effect(even, totals) == 1.0
    lumpy = np.array([0.0, 30.0] * 10)  # same 15 % pooled, all in half the clusters
    deff = design_effect(lumpy, totals)
    assert deff > 10
    plain = clustered_share(even, totals)
    corrected = clustered_share(lumpy, totals)
    assert plain.design_effect == 1.0
    assert (plain.low, plain.high) == pytest.approx(wilson_interval(200, 2000))
    assert corrected.high - corrected.low > 2.5 * (plain.high - plain.low)


def test_bootstrap_is_reproducible_whatever_blocks_it_draws_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(5, 60, 5000).astype(float)
    sums = counts * rng.normal(100.0, 15.0, 5000)
    first = bootstrap_mean(sums, counts, seed=7)
    for cells in (5000, 5000 * 3 + 1, 5000 * 2000):  # one resample a block, uneven, all at once
        monkeypatch.setattr(stats, "MAX_CELLS", cells)
        assert bootstrap_mean(sums, counts, seed=7) == first
    assert bootstrap_mean(sums, counts, seed=7) == first
    assert bootstrap_mean(sums, counts, seed=8) != first
    assert first.low < first.value < first.high
    assert first.value == pytest.approx(sums.sum() / counts.sum())
    with pytest.raises(ValueError):
        bootstrap_mean(np.array([1.0]), np.array([0.0]))


def test_intervals_cover_the_truth_in_at_least_90_percent_of_200_datasets() -> None:
    """Bootstrap (mean download) and Wilson (access failure) on correlated probe-day data."""
    standard = replace(QCVN_126, kpis=(QCVN_126.kpi("dl_mean"), QCVN_126.kpi("access_failure")))
    true_dl, true_failure = 100.0, 0.05
    mean_hits = share_hits = 0
    runs = 200
    for seed in range(runs):
        truth = Truth(
            dl_mbps=true_dl,
            access_failure=true_failure,
            probes=8,
            days=5,
            per_probe_day=20,
            day_sd=0.1,
            seed=10_000 + seed,
        )
        rows = build_rollups(generate(truth))
        assessment = evaluate(standard, VIETTEL, rows, area="A", period=OCTOBER)
        dl, failure = assessment.kpi("dl_mean"), assessment.kpi("access_failure")
        mean_hits += dl.ci_low <= true_dl <= dl.ci_high
        share_hits += failure.ci_low <= 100 * true_failure <= failure.ci_high
    assert mean_hits >= 0.9 * runs, f"bootstrap covered the truth in {mean_hits}/{runs}"
    assert share_hits >= 0.9 * runs, f"Wilson covered the truth in {share_hits}/{runs}"


def test_dropped_transfer_intervals_cover_the_truth_in_at_least_90_percent_of_200_runs() -> None:
    """Wilson, corrected for probe-day clustering, on the share of started transfers dropped.

    A cycle starts one or two transfers (the upload only after a completed
    download), so the denominators vary by cluster as in the field.
    """
    standard = replace(QCVN_126, kpis=(QCVN_126.kpi("dropped_transfer"),))
    true_dropped = 0.06
    hits = 0
    runs = 200
    for seed in range(runs):
        truth = Truth(
            dropped=true_dropped,
            access_failure=0.05,
            probes=8,
            days=5,
            per_probe_day=20,
            seed=20_000 + seed,
        )
        verdict = evaluate(
            standard, VIETTEL, build_rollups(generate(truth)), area="A", period=OCTOBER
        ).kpi("dropped_transfer")
        assert verdict.samples > 8 * 5 * 20  # downloads and uploads
        hits += verdict.ci_low <= 100 * true_dropped <= verdict.ci_high
    assert hits >= 0.9 * runs, f"Wilson covered the truth in {hits}/{runs}"


ENVS = ("indoor", "outdoor_fixed", "outdoor_mobile")


def _clustered_samples(
    seed: int, share: float, make: Callable[[bool, dict[str, Any]], dict[str, Any]]
) -> list[Sample]:
    """8 probes x 5 days x 20 samples; each probe-day meets the threshold with its own
    probability (the true share plus a day effect, sd 0.03), as field data cluster."""
    rng = np.random.default_rng(seed)
    samples = []
    for p in range(8):
        for d in range(5):
            day_share = float(np.clip(share + rng.normal(0.0, 0.03), 0.0, 1.0))
            start = datetime(2026, 10, 1 + d, 8, tzinfo=VIETNAM_TZ)
            for i in range(20):
                row = {
                    "t": start + timedelta(seconds=120 * i), "probe": f"p{p}", "op": "Viettel",
                    "env": ENVS[p % 3], "h3": "8841b1b4c1fffff", "service": True,
                }  # fmt: skip
                samples.append(Sample.from_dict(make(bool(rng.random() < day_share), row)))
    return samples


def test_nr_leg_radio_availability_intervals_cover_the_truth_in_90_percent_of_200_runs() -> None:
    """5G radio availability from the NR leg of NR-NSA records; the LTE anchor is always strong,
    so reading it instead would put every interval at 100 % and miss the truth."""
    standard = replace(QCVN_126, kpis=(QCVN_126.kpi("radio_availability"),))
    threshold = QCVN_126.kpi("radio_availability").threshold
    assert threshold is not None
    true_share = 0.9

    def nsa(meets: bool, row: dict[str, Any]) -> dict[str, Any]:
        leg = threshold + 3.0 if meets else threshold - 0.5  # just below: counts against
        return {**row, "tech": "NR-NSA", "rsrp_dbm": -85.0, "nr_rsrp_dbm": leg}

    hits = 0
    runs = 200
    for seed in range(runs):
        rows = build_rollups(_clustered_samples(30_000 + seed, true_share, nsa))
        verdict = evaluate(standard, VIETTEL, rows, area="A", period=OCTOBER).kpi(
            "radio_availability"
        )
        assert verdict.samples == 8 * 5 * 20
        hits += verdict.ci_low <= 100 * true_share <= verdict.ci_high
    assert hits >= 0.9 * runs, f"Wilson covered the truth in {hits}/{runs}"


def test_vdmin_share_intervals_cover_the_truth_in_90_percent_of_200_runs() -> None:
    """QCVN 81 §2.1.5: downloads at exactly Vdmin (2.5) meet it, a kilobit below do not."""
    standard = replace(QCVN_81, kpis=(QCVN_81.kpi("dl_share_vdmin"),))
    true_share = 0.85

    def lte(meets: bool, row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "tech": "LTE", "dl_mbps": 2.5 if meets else 2.499}

    hits = 0
    runs = 200
    for seed in range(runs):
        samples = [
            replace(s, dl_vdmin_mbps=2.5)
            for s in _clustered_samples(40_000 + seed, true_share, lte)
        ]
        verdict = evaluate(standard, VIETTEL, build_rollups(samples), area="A", period=OCTOBER).kpi(
            "dl_share_vdmin"
        )
        assert verdict.samples == 8 * 5 * 20
        hits += verdict.ci_low <= 100 * true_share <= verdict.ci_high
    assert hits >= 0.9 * runs, f"Wilson covered the truth in {hits}/{runs}"
