"""Verdicts on datasets of known truth, sampling grades, and their renderings."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from giamsat.aggregator.aggregates.rollup import build_rollups
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.render import render_table, to_csv, to_json
from giamsat.aggregator.compliance.sampling import EARLY_WARNING, EVIDENCE
from giamsat.aggregator.compliance.standards import load_standard
from giamsat.aggregator.compliance.verdicts import KpiVerdict, Verdict, decide, evaluate
from tests.support.truth import Truth, generate

CONFIG = Path(__file__).resolve().parent.parent / "config"
QCVN_126 = load_standard(CONFIG / "standards" / "qcvn-126-2021.toml")
QCVN_81 = load_standard(CONFIG / "standards" / "qcvn-81-2019.toml")
OPERATORS = load_operators(CONFIG / "operators.toml")
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def _assess(truth: Truth, standard=QCVN_126, period: Period = OCTOBER):
    rows = build_rollups(generate(truth))
    return evaluate(standard, OPERATORS[truth.operator], rows, area="Thái Nguyên", period=period)


@pytest.mark.parametrize(
    ("value", "low", "high", "comparator", "limit", "expected"),
    [
        (85, 80, 90, ">=", 100, Verdict.FAIL),
        (95, 90, 100, ">=", 100, Verdict.AT_RISK),  # interval touches the limit
        (99.9, 97, 103, ">=", 100, Verdict.AT_RISK),
        (100, 97, 103, ">=", 100, Verdict.PASS),  # meeting the limit exactly passes
        (130, 120, 140, ">=", 100, Verdict.PASS),
        (60, 55, 65, "<=", 50, Verdict.FAIL),
        (52, 49, 55, "<=", 50, Verdict.AT_RISK),
        (50, 45, 55, "<=", 50, Verdict.PASS),
        (30, 28, 32, "<=", 50, Verdict.PASS),
    ],
)
def test_decide(value, low, high, comparator, limit, expected) -> None:
    assert decide(value, low, high, comparator, limit) is expected


def test_verdicts_match_the_truth_of_three_operators_sharing_the_rows() -> None:
    truths = [
        Truth(operator="Viettel", dl_mbps=85.0, seed=21),
        Truth(operator="MobiFone", dl_mbps=100.0, seed=22),
        Truth(operator="VinaPhone", dl_mbps=130.0, rtt_ms=65.0, access_failure=0.12, seed=23),
    ]
    rows = build_rollups([s for t in truths for s in generate(t)])

    def verdict(operator: str, kpi: str) -> KpiVerdict:
        assessment = evaluate(QCVN_126, OPERATORS[operator], rows, area="A", period=OCTOBER)
        return assessment.kpi(kpi)

    failing = verdict("Viettel", "dl_mean")
    assert failing.verdict is Verdict.FAIL and failing.grade == EVIDENCE
    assert failing.ci_low <= 85.0 <= failing.ci_high < 100.0
    assert failing.samples == 1800 and failing.probe_days == 60  # only Viettel's rows

    borderline = verdict("MobiFone", "dl_mean")
    assert borderline.verdict in (Verdict.PASS, Verdict.AT_RISK)
    assert borderline.ci_low <= 100.0 <= borderline.ci_high

    assert verdict("VinaPhone", "dl_mean").verdict is Verdict.PASS
    assert verdict("VinaPhone", "latency_mean").verdict is Verdict.FAIL
    assert verdict("VinaPhone", "access_failure").verdict is Verdict.FAIL
    assert verdict("Viettel", "latency_mean").verdict is Verdict.PASS
    assert verdict("Viettel", "access_failure").verdict is Verdict.PASS


def test_estimate_below_limit_with_overlapping_interval_is_at_risk() -> None:
    verdict = _assess(Truth(dl_mbps=98.0, probes=9, per_probe_day=40, seed=1)).kpi("dl_mean")
    assert verdict.value < 100.0 <= verdict.ci_high
    assert verdict.verdict is Verdict.AT_RISK


def test_too_few_samples_give_insufficient_data_with_reasons() -> None:
    assessment = _assess(
        Truth(dl_mbps=60.0, probes=2, days=2, per_probe_day=20, seed=4, dropped=0.05)
    )
    for verdict in assessment.kpis:
        assert verdict.verdict is Verdict.INSUFFICIENT_DATA
        assert verdict.grade == EARLY_WARNING
        assert "early_warning.min_probe_days: 4 < 5" in verdict.insufficient
        assert f"early_warning.min_samples: {verdict.samples} < 200" in verdict.insufficient
    # 80 cycles; a dropped download has no rate, and is followed by no upload.
    assert assessment.kpi("access_failure").samples == 80
    assert assessment.kpi("dl_mean").samples < 80
    # The estimate is still reported, so an inspector sees where it is heading.
    assert assessment.kpi("dl_mean").value == pytest.approx(60.0, rel=0.25)
    nothing = evaluate(QCVN_126, OPERATORS["Vietnamobile"], [], area="A", period=OCTOBER)
    assert all(v.value is None and v.verdict is Verdict.INSUFFICIENT_DATA for v in nothing.kpis)


def test_all_outdoor_mobile_samples_are_not_evidence() -> None:
    truth = Truth(dl_mbps=85.0, probes=8, per_probe_day=40, env_split={"outdoor_mobile": 1.0})
    verdict = _assess(truth).kpi("dl_mean")
    assert verdict.samples == 1600
    assert verdict.grade == EARLY_WARNING
    assert verdict.unmet == ("per_env.indoor: 0 < 500", "per_env.outdoor_fixed: 0 < 500")
    assert verdict.verdict is Verdict.FAIL  # still a finding, as an early warning


def test_the_right_environment_split_is_evidence() -> None:
    verdict = _assess(Truth(dl_mbps=85.0, probes=9, per_probe_day=36)).kpi("dl_mean")
    assert verdict.samples == 1620
    assert verdict.per_env == {"indoor": 540, "outdoor_fixed": 540, "outdoor_mobile": 540}
    assert verdict.grade == EVIDENCE and verdict.unmet == ()


def test_too_few_in_total_is_not_evidence() -> None:
    verdict = _assess(Truth(dl_mbps=85.0, probes=9, per_probe_day=30)).kpi("dl_mean")
    assert verdict.samples == 1350
    assert verdict.unmet[0] == "min_samples: 1350 < 1500"
    assert verdict.grade == EARLY_WARNING


def test_samples_closer_than_30_s_break_the_spacing_rule() -> None:
    assessment = _assess(Truth(dl_mbps=85.0, interval_s=20.0))
    verdict = assessment.kpi("dl_mean")
    assert verdict.grade == EARLY_WARNING
    assert verdict.close_samples > 0
    assert any(rule.startswith("min_spacing_s:") for rule in verdict.unmet)
    assert _assess(Truth(dl_mbps=85.0, interval_s=30.0)).kpi("dl_mean").close_samples == 0


def test_4g_standard_uses_the_operators_declared_speeds() -> None:
    truth = Truth(
        operator="Vietnamobile",
        tech="LTE",
        dl_mbps=12.0,
        ul_mbps=9.0,
        access_s=6.5,
        rsrp_dbm=-112.0,
        no_service=0.03,
        seed=8,
    )
    assessment = _assess(truth, QCVN_81)
    dl, ul = assessment.kpi("dl_mean"), assessment.kpi("ul_mean")
    assert (dl.limit, ul.limit) == (15.0, 5.0)  # Vietnamobile's Vd, Vu in operators.toml
    assert dl.verdict is Verdict.FAIL and ul.verdict is Verdict.PASS
    assert assessment.kpi("access_time_mean").verdict is Verdict.FAIL
    availability = assessment.kpi("radio_availability")
    assert availability.verdict is Verdict.FAIL
    # No-service cycles (no technology) count in the availability denominator.
    assert availability.samples == 1800 > dl.samples


def test_period_selects_local_days() -> None:
    two_days = Period(date(2026, 10, 2), date(2026, 10, 3))
    verdict = _assess(Truth(dl_mbps=130.0), period=two_days).kpi("dl_mean")
    assert verdict.probe_days == 12 * 2
    assert verdict.samples == 12 * 2 * 30
    with pytest.raises(ValueError, match="before it starts"):
        Period(date(2026, 10, 3), date(2026, 10, 2))


def test_same_inputs_give_the_same_intervals_and_another_seed_differs() -> None:
    rows = build_rollups(generate(Truth(dl_mbps=100.0, seed=9)))
    viettel = OPERATORS["Viettel"]
    first = evaluate(QCVN_126, viettel, rows, area="A", period=OCTOBER)
    again = evaluate(QCVN_126, viettel, list(reversed(rows)), area="A", period=OCTOBER)
    other = evaluate(QCVN_126, viettel, rows, area="A", period=OCTOBER, seed=1)
    assert first == again
    assert first.kpi("dl_mean").ci_low != other.kpi("dl_mean").ci_low


def test_json_csv_and_table_renderings() -> None:
    assessment = _assess(Truth(dl_mbps=85.0, seed=2))
    data = json.loads(to_json(assessment))
    assert data["area"] == "Thái Nguyên" and data["period_start"] == "2026-10-01"
    assert [KpiVerdict.from_dict(k) for k in data["kpis"]] == list(assessment.kpis)
    assert "Thái Nguyên" in to_json(assessment)  # UTF-8, not \\u escapes

    rows = list(csv.DictReader(io.StringIO(to_csv([assessment, assessment]))))
    assert len(rows) == 2 * len(assessment.kpis)
    assert rows[0]["kpi_id"] == "dl_mean" and rows[0]["verdict"] == "FAIL"
    assert float(rows[0]["ci_high"]) == pytest.approx(assessment.kpi("dl_mean").ci_high)

    table = render_table(assessment)
    lines = table.splitlines()
    assert lines[0].startswith("QCVN-126:2021/BTTTT - Viettel 5G - Thái Nguyên")
    assert any(line.startswith("dl_mean ") and "FAIL" in line for line in lines)
    unconfirmed = [k for k in assessment.kpis if k.unconfirmed]
    assert unconfirmed  # radio availability and dropped transfers, in the shipped file
    # Header, what was judged, titles, a line per KPI, a note per unconfirmed KPI.
    assert (
        lines[1] == "Viettel declared no 5G service area for this period: every sample was judged."
    )
    assert len(lines) == 3 + len(assessment.kpis) + len(unconfirmed)
    for k in unconfirmed:
        assert any(line.startswith(f"{k.kpi_id} ") and "(unconfirmed)" in line for line in lines)
        assert f"(unconfirmed) {k.kpi_id}: not confirmed from the official text: " in table
        assert data["kpis"][list(assessment.kpis).index(k)]["unconfirmed"] == k.unconfirmed
        assert rows[list(assessment.kpis).index(k)]["unconfirmed"] == k.unconfirmed
    assert rows[0]["unconfirmed"] == "" and data["kpis"][0]["unconfirmed"] is None
    assert {r["version"] for r in rows} == {"07/2021/TT-BTTTT"}
    assert data["version"] == "07/2021/TT-BTTTT"
    assert lines[0].endswith(" - version 07/2021/TT-BTTTT")


def test_a_standard_without_per_env_rules_needs_only_the_total() -> None:
    lenient = replace(QCVN_126, sampling=replace(QCVN_126.sampling, per_env={}))
    truth = Truth(dl_mbps=85.0, probes=8, per_probe_day=40, env_split={"outdoor_mobile": 1.0})
    assert _assess(truth, lenient).kpi("dl_mean").grade == EVIDENCE
