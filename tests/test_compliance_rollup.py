"""Rollups: raw samples and stored hourly aggregates must give the same verdicts."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from giamsat.aggregator.aggregates.histogram import (
    FIELD_EDGES,
    GAP_EDGES_S,
    THROUGHPUT_EDGES,
    bin_index,
    count_at_least,
    count_below,
)
from giamsat.aggregator.aggregates.rollup import COLUMNS, Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import NO_TECH, Sample
from giamsat.aggregator.compliance.clusters import Period, local_day
from giamsat.aggregator.compliance.coverage import coverage_counts, load_coverage
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.standards import load_standard
from giamsat.aggregator.compliance.stats import bootstrap_mean, clustered_share
from giamsat.aggregator.compliance.verdicts import evaluate
from tests.support.truth import Truth, generate

CONFIG = Path(__file__).resolve().parent.parent / "config"
QCVN_126 = load_standard(CONFIG / "standards" / "qcvn-126-2021.toml")
QCVN_81 = load_standard(CONFIG / "standards" / "qcvn-81-2019.toml")
OPERATORS = load_operators(CONFIG / "operators.toml")
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
T0 = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)


def _sample(seconds: float, **changes: object) -> Sample:
    base = Sample(
        t=T0 + timedelta(seconds=seconds),
        probe="p1",
        op="Viettel",
        tech="NR-SA",
        env="indoor",
        h3="88415a3b6dfffff",
        service=True,
        dl_mbps=120.0,
        ul_mbps=35.0,
        rtt_ms=25.0,
        access_ok=True,
        access_s=0.8,
        rsrp_dbm=-92.0,
    )
    return dataclasses.replace(base, **changes)


def test_bins_are_left_closed_so_threshold_counts_are_exact() -> None:
    values = [29.999, 30.0, 30.001, -1.0, 5000.0, 0.0]
    hist = [0] * (len(THROUGHPUT_EDGES) + 1)
    for value in values:
        hist[bin_index(THROUGHPUT_EDGES, value)] += 1
    assert count_at_least(hist, THROUGHPUT_EDGES, 30) == 3
    assert count_below(hist, THROUGHPUT_EDGES, 30) == 3
    assert hist[0] == 1 and hist[-1] == 1  # below the first edge, at/above the last one
    with pytest.raises(ValueError):
        count_at_least(hist, THROUGHPUT_EDGES, 31)


def test_rollup_aggregates_equal_the_raw_samples() -> None:
    samples = generate(Truth(no_service=0.05, access_failure=0.1, seed=3))
    rows = build_rollups(samples)
    served = [s for s in samples if s.service]
    for name, edges in FIELD_EDGES.items():
        raw = np.array([getattr(s, name) for s in served if getattr(s, name) is not None])
        assert sum(r.moments(name).n for r in rows) == len(raw)
        assert sum(r.moments(name).sum for r in rows) == pytest.approx(raw.sum())
        assert sum(r.moments(name).sumsq for r in rows) == pytest.approx(np.square(raw).sum())
        hist = np.sum([r.moments(name).hist for r in rows], axis=0)
        for threshold in edges[:: max(1, len(edges) // 7)]:
            assert count_at_least(hist, edges, threshold) == int((raw >= threshold).sum())
    assert sum(r.records for r in rows) == len(samples)
    assert sum(r.no_service for r in rows) == sum(not s.service for s in samples)
    attempts = [s for s in samples if s.access_ok is not None]
    assert sum(r.access_attempts for r in rows) == len(attempts)
    assert sum(r.access_failures for r in rows) == sum(not s.access_ok for s in attempts)
    devices = {(s.probe, s.op) for s in samples}
    assert sum(sum(r.gap_hist) for r in rows) == len(samples) - len(devices)
    assert all(r.hour.minute == 0 and r.hour.tzinfo is not None for r in rows)


def test_verdicts_from_rollups_equal_a_direct_computation_on_raw_samples() -> None:
    samples = generate(Truth(dl_mbps=92.0, seed=11))
    viettel = OPERATORS["Viettel"]
    assessment = evaluate(QCVN_126, viettel, build_rollups(samples), area="A", period=OCTOBER)

    clusters: dict[tuple[str, date], list[Sample]] = {}
    for s in samples:
        clusters.setdefault((s.probe, local_day(s.t)), []).append(s)
    keys = sorted(clusters)
    dl = [np.array([s.dl_mbps for s in clusters[k]]) for k in keys]
    sums = np.array([v.sum() for v in dl])
    counts = np.array([len(v) for v in dl], dtype=float)

    verdict = assessment.kpi("dl_mean")
    expected = bootstrap_mean(sums, counts, 0.95, 2000, 0)
    assert verdict.value == pytest.approx(np.concatenate(dl).mean())
    assert (verdict.ci_low, verdict.ci_high) == pytest.approx((expected.low, expected.high))
    assert verdict.samples == len(samples)
    assert verdict.probe_days == len(keys)

    share = assessment.kpi("dl_share_30")
    hits = np.array([(v >= 30).sum() for v in dl], dtype=float)
    expected_share = clustered_share(hits, counts)
    assert share.value == pytest.approx(100 * hits.sum() / counts.sum())
    assert share.ci_low == pytest.approx(100 * expected_share.low)
    assert share.design_effect == pytest.approx(expected_share.design_effect)


def test_storage_round_trip_and_batch_merge_do_not_change_verdicts() -> None:
    samples = generate(Truth(dl_mbps=97.0, per_probe_day=40, seed=5))
    whole = build_rollups(samples)
    stored = [Rollup.from_row(row.as_row()) for row in whole]
    assert all(set(row.as_row()) == set(COLUMNS) for row in whole[:3])

    # Ingest in two batches split mid-hour; the second knows each device's last sample time.
    ordered = sorted(samples, key=lambda s: s.t)
    cut = len(ordered) // 2
    first, second = ordered[:cut], ordered[cut:]
    last_seen: dict[tuple[str, str], datetime] = {}
    for s in first:
        last_seen[(s.probe, s.op)] = max(s.t, last_seen.get((s.probe, s.op), s.t))
    merged: dict[tuple, Rollup] = {}
    for row in build_rollups(first) + build_rollups(second, last_seen):
        merged[row.key] = merged[row.key].merged(row) if row.key in merged else row
    batched = [merged[key] for key in sorted(merged)]
    assert [r.key for r in batched] == [r.key for r in whole]
    for got, want in zip(batched, whole, strict=True):
        _assert_close(got.as_row(), want.as_row())

    viettel = OPERATORS["Viettel"]
    reference = evaluate(QCVN_126, viettel, whole, area="A", period=OCTOBER)
    assert evaluate(QCVN_126, viettel, stored, area="A", period=OCTOBER) == reference
    # Sums are kept on a binary grid, so the order they were added in changes nothing.
    assert evaluate(QCVN_126, viettel, batched, area="A", period=OCTOBER) == reference


def _assert_close(got: object, want: object) -> None:
    """Equal, with floats compared to 1e-9 relative (sums of squares are not kept exact)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys()
        for key in want:
            _assert_close(got[key], want[key])
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _assert_close(g, w)
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9)
    else:
        assert got == want


def test_spacing_is_measured_per_probe_and_operator() -> None:
    samples = [
        _sample(0),
        _sample(20),  # too close
        _sample(50),  # 30 s: allowed
        _sample(51, op="MobiFone"),  # another modem in the same probe: first of its own
        _sample(55, probe="p2"),  # another probe: first of its own
    ]
    rows = build_rollups(samples)
    close = sum(count_below(r.gap_hist, GAP_EDGES_S, 30) for r in rows)
    assert close == 1
    assert sum(sum(r.gap_hist) for r in rows) == 2
    # A batch boundary must not hide a short gap.
    later = build_rollups([_sample(70)], last_seen={("p1", "Viettel"): T0 + timedelta(seconds=50)})
    assert count_below(later[0].gap_hist, GAP_EDGES_S, 30) == 1


def test_no_service_sample_counts_as_such_and_measures_nothing() -> None:
    rows = build_rollups(
        [_sample(0, service=False, tech=NO_TECH, access_ok=False, rsrp_dbm=-125.0, dl_mbps=None)]
    )
    (row,) = rows
    assert (row.records, row.no_service, row.access_attempts, row.access_failures) == (1, 1, 1, 1)
    assert row.rsrp_dbm.n == 0 and row.dl_mbps.n == 0 and row.tech == NO_TECH


def test_sample_from_a_records_row() -> None:
    sample = Sample.from_dict(
        {"t": "2026-10-01T01:02:03.000Z", "probe": "p1", "h3": "88415a3b6dfffff",
         "service": None, "dl_mbps": 12.5, "tech": None, "op": None, "env": None}
    )  # fmt: skip
    assert sample.t == datetime(2026, 10, 1, 1, 2, 3, tzinfo=UTC)
    assert (sample.service, sample.tech, sample.op, sample.env) == (
        True,
        "none",
        "unknown",
        "unknown",
    )
    assert Sample.from_dict({"t": T0, "probe": "p", "h3": "x", "service": False}).service is False
    with pytest.raises(ValueError, match="environment"):
        _sample(0, env="garden")
    with pytest.raises(ValueError, match="time zone"):
        _sample(0, t=datetime(2026, 10, 1))


def test_merge_and_load_refuse_mismatched_rollups() -> None:
    a, b = build_rollups([_sample(0), _sample(0, probe="p2")])
    with pytest.raises(ValueError, match="cannot merge"):
        a.merged(b)
    row = a.as_row()
    row["dl_mbps_hist"] = row["dl_mbps_hist"][:-1]
    with pytest.raises(ValueError, match="bins"):
        Rollup.from_row(row)


def test_coverage_counts_from_rollups_equal_per_sample_classes() -> None:
    rule = load_coverage(CONFIG / "standards" / "coverage.toml").rules["LTE"]
    samples = generate(Truth(tech="LTE", rsrp_dbm=-112.0, rsrp_sd_db=8.0, no_service=0.1, seed=2))
    expected = Counter(rule.classify(s.service, s.rsrp_dbm) for s in samples)
    counts = coverage_counts(rule, build_rollups(samples))
    assert (counts.covered, counts.weak, counts.dead) == (
        expected["covered"],
        expected["weak"],
        expected["dead"],
    )
    assert counts.total == len(samples)
    assert counts.covered and counts.weak and counts.dead
