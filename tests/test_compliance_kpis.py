"""Every technical KPI: dropped transfers, 5G radio availability, per-KPI sampling,
unconfirmed figures and versions of a standard with effective dates."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from giamsat.aggregator.aggregates.rollup import build_rollups
from giamsat.aggregator.aggregates.samples import NO_TECH, Sample
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.escalation import CaseState, open_case, transition
from giamsat.aggregator.compliance.notices import render_notice
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.render import to_json
from giamsat.aggregator.compliance.sampling import EARLY_WARNING, EVIDENCE
from giamsat.aggregator.compliance.standards import (
    HourSpread,
    VersionSpanError,
    load_standard,
)
from giamsat.aggregator.compliance.verdicts import Verdict, evaluate
from giamsat.contract.config import ConfigError
from tests.support.truth import Truth, generate

CONFIG = Path(__file__).resolve().parent.parent / "config"
QCVN_126_PATH = CONFIG / "standards" / "qcvn-126-2021.toml"
QCVN_81_PATH = CONFIG / "standards" / "qcvn-81-2019.toml"
QCVN_126 = load_standard(QCVN_126_PATH)
QCVN_81 = load_standard(QCVN_81_PATH)
OPERATORS = load_operators(CONFIG / "operators.toml")
VIETTEL = OPERATORS["Viettel"]
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
CELL = "8841596011fffff"
SHA = "ab" * 32


def _sample(t: datetime, **values) -> Sample:
    base = {"probe": "p1", "op": "Viettel", "tech": "NR-SA", "env": "outdoor_mobile"}
    return Sample(t=t, h3=CELL, service=values.pop("service", True), **(base | values))


# --- rollups ---------------------------------------------------------------------------


def test_rollups_count_started_and_dropped_transfers_and_local_hours() -> None:
    t = datetime(2026, 10, 1, 2, 10, tzinfo=UTC)  # 09:10 in Vietnam
    samples = [
        _sample(t, access_ok=True, dl_outcome="completed", ul_outcome="completed"),
        _sample(t + timedelta(minutes=1), access_ok=True, dl_outcome="completed",
                ul_outcome="dropped"),
        _sample(t + timedelta(minutes=2), access_ok=True, dl_outcome="dropped"),
        # Never started: an access failure, not a transfer.
        _sample(t + timedelta(minutes=3), access_ok=False, dl_outcome="not_started"),
        # An agent from before outcomes: its transfers count in neither.
        _sample(t + timedelta(minutes=4), access_ok=True, dl_mbps=50.0, ul_mbps=10.0),
    ]  # fmt: skip
    [row] = build_rollups(samples)
    assert (row.transfers_started, row.transfers_dropped) == (5, 2)
    assert (row.access_attempts, row.access_failures) == (5, 1)
    assert row.local_hour_hist[9] == 5 and sum(row.local_hour_hist) == 5
    twice = row.merged(row)
    assert (twice.transfers_started, twice.transfers_dropped) == (10, 4)
    assert twice.local_hour_hist[9] == 10
    assert type(row).from_row(row.as_row()) == row


# --- radio availability ---------------------------------------------------------------


def test_a_5g_sample_without_a_level_counts_below_the_minimum_level() -> None:
    """Read: counted by its level; in service but unread: below; no service: below."""
    kpi = QCVN_126.kpi("radio_availability")
    assert kpi.threshold == -110.0 and kpi.unconfirmed
    start = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
    samples = []
    for day in range(6):  # enough probe-days for a verdict
        t = start + timedelta(days=day)
        for i in range(40):
            at = t + timedelta(seconds=60 * i)
            if i < 30:
                samples.append(_sample(at, rsrp_dbm=-95.0))
            elif i < 35:  # NR-NSA in service without an NR leg reading
                samples.append(_sample(at, tech="NR-NSA", rsrp_dbm=None))
            elif i < 38:
                samples.append(_sample(at, tech=NO_TECH, service=False))
            else:  # in service, no technology, no level: not judged as 5G
                samples.append(_sample(at, tech=NO_TECH))
    assessment = evaluate(QCVN_126, VIETTEL, build_rollups(samples), area="A", period=OCTOBER)
    verdict = assessment.kpi("radio_availability")
    assert verdict.samples == 6 * 38
    assert verdict.value == pytest.approx(100.0 * 30 / 38)
    assert verdict.unconfirmed == kpi.unconfirmed


# --- dropped transfers ------------------------------------------------------------------


@pytest.mark.parametrize("standard", [QCVN_126, QCVN_81], ids=["qcvn126", "qcvn81"])
def test_dropped_transfers_are_judged_against_the_limit(standard) -> None:
    tech = "NR-SA" if standard is QCVN_126 else "LTE"
    good = evaluate(standard, VIETTEL, build_rollups(generate(
        Truth(tech=tech, dropped=0.02, seed=31))), area="A", period=OCTOBER)  # fmt: skip
    bad = evaluate(standard, VIETTEL, build_rollups(generate(
        Truth(tech=tech, dropped=0.25, seed=32))), area="A", period=OCTOBER)  # fmt: skip
    assert good.kpi("dropped_transfer").verdict is Verdict.PASS
    worst = bad.kpi("dropped_transfer")
    assert worst.verdict is Verdict.FAIL and worst.limit == 10.0 and worst.unit == "%"
    assert worst.ci_low <= 25.0 <= worst.ci_high
    assert "5 % and 10 %" in (worst.unconfirmed or "")
    # Access failures are the transfers that never started: same as without outcomes.
    plain = evaluate(standard, VIETTEL, build_rollups(generate(Truth(tech=tech, seed=32))),
                     area="A", period=OCTOBER)  # fmt: skip
    assert bad.kpi("access_failure") == plain.kpi("access_failure")
    assert plain.kpi("dropped_transfer").verdict is Verdict.INSUFFICIENT_DATA
    assert plain.kpi("dropped_transfer").samples == 0


# --- sampling per KPI --------------------------------------------------------------------


def test_qcvn81_radio_availability_has_its_own_sampling_rules() -> None:
    truth = Truth(tech="LTE", probes=6, per_probe_day=40, seed=3)
    assessment = evaluate(QCVN_81, VIETTEL, build_rollups(generate(truth)), area="A",
                          period=OCTOBER)  # fmt: skip
    availability = assessment.kpi("radio_availability")
    assert "min_samples: 1200 < 100000" in availability.unmet
    assert "per_env.outdoor_mobile: 400 < 100000" in availability.unmet
    assert not any(rule.startswith("per_env.indoor") for rule in availability.unmet)
    # Every probe's day starts at local midnight: 40 samples 2 minutes apart, most in hour 0.
    [spread] = [rule for rule in availability.unmet if rule.startswith("hours.")]
    assert re.fullmatch(
        r"hours\.max_share_pct: \d+\.\d % of outdoor_mobile samples in hour 00:00-00:59 > 10 %",
        spread,
    ), spread
    # The other KPIs keep the standard's rules.
    access = assessment.kpi("access_failure")
    assert "min_samples: 1200 < 1500" in access.unmet
    assert not any(rule.startswith("hours") for rule in access.unmet)


def test_the_hours_rule_is_met_by_samples_spread_over_the_day() -> None:
    rules = QCVN_81.rules_for(QCVN_81.kpi("radio_availability"))
    small = replace(rules, min_samples=500, per_env={"outdoor_mobile": 500})
    lenient_kpi = replace(QCVN_81.kpi("radio_availability"), sampling=small)
    standard = replace(QCVN_81, kpis=(lenient_kpi,))
    # One sample an hour or more apart: each probe-day's 18 fall in 18 different hours.
    hourly = Truth(tech="LTE", probes=6, per_probe_day=18, days=6, interval_s=3600.0,
                   env_split={"outdoor_mobile": 1.0}, seed=4)  # fmt: skip
    bunched = replace(hourly, interval_s=120.0)
    spread = evaluate(standard, VIETTEL, build_rollups(generate(hourly)), area="A",
                      period=OCTOBER).kpi("radio_availability")  # fmt: skip
    assert spread.samples == 6 * 18 * 6 and spread.grade == EVIDENCE, spread.unmet
    night = evaluate(standard, VIETTEL, build_rollups(generate(bunched)), area="A",
                     period=OCTOBER).kpi("radio_availability")  # fmt: skip
    assert night.grade == EARLY_WARNING
    assert night.unmet == (
        "hours.max_share_pct: 100.0 % of outdoor_mobile samples in hour 00:00-00:59 > 10 %",
    )
    # min_hours counts the hours that hold samples.
    twelve = replace(small, hours=HourSpread(("outdoor_mobile",), None, 12))
    strict = replace(QCVN_81, kpis=(replace(lenient_kpi, sampling=twelve),))
    assert evaluate(strict, VIETTEL, build_rollups(generate(hourly)), area="A",
                    period=OCTOBER).kpi("radio_availability").grade == EVIDENCE  # fmt: skip
    only_night = evaluate(strict, VIETTEL, build_rollups(generate(bunched)), area="A",
                          period=OCTOBER).kpi("radio_availability")  # fmt: skip
    assert only_night.unmet == ("hours.min_hours: outdoor_mobile samples in 1 hours < 12",)
    # Samples of other environments do not count towards the rule's environments.
    indoors = replace(hourly, env_split={"indoor": 1.0})
    elsewhere = evaluate(strict, VIETTEL, build_rollups(generate(indoors)), area="A",
                         period=OCTOBER).kpi("radio_availability")  # fmt: skip
    assert "hours: no outdoor_mobile samples" in elsewhere.unmet


def test_a_kpis_own_spacing_counts_its_close_samples() -> None:
    """Spacing is per device (probe and operator); a KPI may ask for more than the standard."""
    truth = Truth(interval_s=40.0, seed=6)  # 40-50 s apart: fine for 30 s, not for 60 s
    rows = build_rollups(generate(truth))
    wider = replace(QCVN_126.sampling, min_spacing_s=60.0)
    kpi = replace(QCVN_126.kpi("latency_mean"), sampling=wider)
    standard = replace(QCVN_126, kpis=(QCVN_126.kpi("dl_mean"), kpi))
    assessment = evaluate(standard, VIETTEL, rows, area="A", period=OCTOBER)
    assert assessment.kpi("dl_mean").close_samples == 0
    assert assessment.kpi("latency_mean").close_samples > 0
    assert any(r.startswith("min_spacing_s:") for r in assessment.kpi("latency_mean").unmet)


def _write(tmp_path: Path, source: Path, old: str, new: str, name: str | None = None) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    target = tmp_path / (name or source.name)
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


def test_kpi_sampling_inherits_the_keys_it_does_not_replace(tmp_path: Path) -> None:
    path = _write(tmp_path, QCVN_126_PATH, 'id = "latency_mean"',
                  'id = "latency_mean"\nsampling = { min_samples = 3000 }')  # fmt: skip
    standard = load_standard(path)
    rules = standard.rules_for(standard.kpi("latency_mean"))
    assert rules.min_samples == 3000
    assert rules.per_env == standard.sampling.per_env
    assert rules.min_spacing_s == standard.sampling.min_spacing_s and rules.hours is None


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('envs = ["outdoor_mobile"]', 'envs = ["car"]', "kpi[0].sampling.hours.envs",
         "unknown environment"),
        ("max_share_pct = 10", "max_share_pct = 2", "kpi[0].sampling.hours.max_share_pct",
         "at least"),
        ("max_share_pct = 10", "", "kpi[0].sampling.hours.max_share_pct", "needs"),
        ("min_samples = 100000", "min_samples = 0", "kpi[0].sampling.min_samples", "at least"),
        ("outdoor_mobile = 100000", "outdoors = 1", "kpi[0].sampling.per_env.outdoors",
         "unknown key"),
        ("[sampling]\nmin_samples = 1500", "[sampling]\nhours = { max_share_pct = 10 }\n"
         "min_samples = 1500", "sampling.hours", "belongs to a KPI"),
    ],
)  # fmt: skip
def test_malformed_kpi_sampling_is_named(tmp_path: Path, old, new, key, reason) -> None:
    path = _write(tmp_path, QCVN_81_PATH, old, new)
    with pytest.raises(ConfigError) as caught:
        load_standard(path)
    assert (caught.value.path, caught.value.key) == (str(path), key)
    assert reason in caught.value.reason


# --- unconfirmed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ('unconfirmed = "the limit was read from a draft"', "the limit was read from a draft"),
        ('unconfirmed = { limit = "a draft", threshold = "x" }', "threshold: x; limit: a draft"),
        ("unconfirmed = false", None),
    ],
)
def test_unconfirmed_is_a_note_or_a_note_per_part(tmp_path: Path, mark, expected) -> None:
    path = _write(tmp_path, QCVN_126_PATH, 'id = "dl_mean"', f'id = "dl_mean"\n{mark}')
    assert load_standard(path).kpi("dl_mean").unconfirmed == expected


@pytest.mark.parametrize(
    ("mark", "key", "reason"),
    [
        ('unconfirmed = " "', "kpi[0].unconfirmed", "give the reason"),
        ("unconfirmed = true", "kpi[0].unconfirmed", "give the reason"),
        ('unconfirmed = { limt = "x" }', "kpi[0].unconfirmed.limt", "unknown key"),
        ("unconfirmed = {}", "kpi[0].unconfirmed", "name at least one"),
        ("unconfirmed = 5", "kpi[0].unconfirmed", "must be a note"),
    ],
)
def test_malformed_unconfirmed_is_named(tmp_path: Path, mark, key, reason) -> None:
    path = _write(tmp_path, QCVN_126_PATH, 'id = "dl_mean"', f'id = "dl_mean"\n{mark}')
    with pytest.raises(ConfigError) as caught:
        load_standard(path)
    assert (caught.value.path, caught.value.key) == (str(path), key)
    assert reason in caught.value.reason


def _failing_case(kpi_id: str, truth: Truth, standard=QCVN_126):
    rows = build_rollups(generate(truth))
    first = evaluate(standard, VIETTEL, rows, area="A", period=OCTOBER).kpi(kpi_id)
    assert first.verdict is Verdict.FAIL and first.grade == EVIDENCE, first
    later = Period(date(2026, 11, 1), date(2026, 11, 30))
    moved = [dataclasses.replace(s, t=s.t + timedelta(days=31)) for s in generate(truth)]
    second = evaluate(standard, VIETTEL, build_rollups(moved), area="A", period=later).kpi(kpi_id)
    case = open_case(first, date(2026, 11, 1))
    return transition(case, first, date(2026, 11, 2)), second


def test_notices_mark_an_unconfirmed_limit_and_name_the_version() -> None:
    truth = Truth(dropped=0.3, probes=12, per_probe_day=30, seed=41)
    case, _ = _failing_case("dropped_transfer", truth)
    assert case.state is CaseState.NOTICE_1
    note = QCVN_126.kpi("dropped_transfer").unconfirmed
    vi = render_notice(case, VIETTEL, QCVN_126, SHA, date(2026, 11, 2), language="vi")
    en = render_notice(case, VIETTEL, QCVN_126, SHA, date(2026, 11, 2), language="en")
    assert "- CHƯA XÁC NHẬN: " in vi and note in vi
    assert "- UNCONFIRMED: " in en and note in en
    assert "- Phiên bản quy chuẩn áp dụng: QCVN 126:2021/BTTTT, 07/2021/TT-BTTTT" in vi
    assert "- Version of the standard applied: QCVN 126:2021/BTTTT, 07/2021/TT-BTTTT" in en
    # Beside the limit, before anything else about the finding.
    lines = en.splitlines()
    required = next(i for i, line in enumerate(lines) if line.startswith("- Required: ≤ 10 %"))
    assert lines[required + 1].startswith("- UNCONFIRMED: ")
    # A confirmed KPI's notice has no such line, and the case's JSON keeps the mark.
    slow, _ = _failing_case("dl_mean", Truth(dl_mbps=70.0, seed=42))
    plain = render_notice(slow, VIETTEL, QCVN_126, SHA, date(2026, 11, 2), language="en")
    assert "UNCONFIRMED" not in plain
    stored = json.loads(to_json(case))
    assert stored["history"][-1]["verdict"]["unconfirmed"] == note


# --- versions ------------------------------------------------------------------------------

AMENDED = """
[[amendment]]
id = "12/2026/TT-BKHCN"
effective_from = 2026-11-01
citation = { vi = "Thông tư số 12/2026/TT-BKHCN", en = "Circular No. 12/2026/TT-BKHCN" }
remove_kpis = ["ul_mean"]

[[amendment.kpi]]
id = "dl_share_30"
limit = 90

[[amendment.kpi]]
id = "dropped_transfer"
limit = 5
unconfirmed = false

[[amendment.kpi]]
id = "dl_share_100"
name = { vi = "Tỷ lệ mẫu có tốc độ tải xuống từ 100 Mbit/s", en = "Share of downloads >= 100" }
metric = "share_at_least"
field = "dl_mbps"
threshold = 100
comparator = ">="
limit = 50
unit = "%"

[[amendment]]
id = "3/2027/TT-BKHCN"
effective_from = 2027-01-01

[[amendment.kpi]]
id = "dl_share_30"
limit = 92
"""


def _amended(tmp_path: Path, extra: str = AMENDED, base: str = "") -> Path:
    text = QCVN_126_PATH.read_text(encoding="utf-8") + extra
    if base:
        text = text.replace(
            'version = "07/2021/TT-BTTTT"\n', f'version = "07/2021/TT-BTTTT"\n{base}'
        )
    path = tmp_path / "amended.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_each_period_is_judged_by_the_version_in_force(tmp_path: Path) -> None:
    standard = load_standard(_amended(tmp_path, base="effective_from = 2022-07-01\n"))
    assert [v.id for v in standard.versions] == [
        "07/2021/TT-BTTTT", "12/2026/TT-BKHCN", "3/2027/TT-BKHCN",
    ]  # fmt: skip
    october = standard.for_period(date(2026, 10, 1), date(2026, 10, 31))
    assert october.version == "07/2021/TT-BTTTT" and october.effective_from == date(2022, 7, 1)
    assert october.kpi("dl_share_30").limit == 95.0 and october.kpi("ul_mean").limit == 30.0
    assert october.kpi("dropped_transfer").limit == 10.0
    november = standard.for_period(date(2026, 11, 1), date(2026, 12, 31))
    assert november.version == "12/2026/TT-BKHCN"
    assert november.kpi("dl_share_30").limit == 90.0
    assert november.kpi("dl_share_30").threshold == 30.0  # the keys not given are kept
    assert november.kpi("dropped_transfer").limit == 5.0
    assert november.kpi("dropped_transfer").unconfirmed is None
    assert november.kpi("dl_share_100").threshold == 100.0
    assert "ul_mean" not in [k.id for k in november.kpis]
    later = standard.for_period(date(2027, 3, 1), date(2027, 3, 31))
    assert later.version == "3/2027/TT-BKHCN" and later.kpi("dl_share_30").limit == 92.0
    assert "ul_mean" not in [k.id for k in later.kpis]  # amendments apply on top of each other

    rows = build_rollups(generate(Truth(dl_mbps=130.0, seed=7)))
    judged = evaluate(standard, VIETTEL, rows, area="A", period=OCTOBER)
    assert judged.version == "07/2021/TT-BTTTT" and judged.version_from == date(2022, 7, 1)
    assert {k.version for k in judged.kpis} == {"07/2021/TT-BTTTT"}
    moved = [dataclasses.replace(s, t=s.t + timedelta(days=31)) for s in generate(Truth(seed=7))]
    nov = evaluate(standard, VIETTEL, build_rollups(moved), area="A",
                   period=Period(date(2026, 11, 1), date(2026, 11, 30)))  # fmt: skip
    assert nov.version == "12/2026/TT-BKHCN" and nov.version_from == date(2026, 11, 1)
    assert nov.kpi("dl_share_30").limit == 90.0
    assert [k.kpi_id for k in nov.kpis] == [k.id for k in november.kpis]
    data = json.loads(to_json(nov))
    assert (data["version"], data["version_from"]) == ("12/2026/TT-BKHCN", "2026-11-01")


def test_a_period_two_versions_share_is_refused_naming_both(tmp_path: Path) -> None:
    standard = load_standard(_amended(tmp_path, base="effective_from = 2022-07-01\n"))
    rows = build_rollups(generate(Truth(seed=8)))
    spanning = Period(date(2026, 10, 15), date(2026, 11, 14))
    with pytest.raises(VersionSpanError) as caught:
        evaluate(standard, VIETTEL, rows, area="A", period=spanning)
    message = str(caught.value)
    assert "'07/2021/TT-BTTTT' until 2026-10-31, then '12/2026/TT-BKHCN' from 2026-11-01" in message
    assert "judge 2026-10-15..2026-10-31 and 2026-11-01..2026-11-14 separately" in message
    with pytest.raises(VersionSpanError, match="before the standard came into force on 2022-07-01"):
        standard.for_period(date(2022, 6, 1), date(2022, 7, 31))
    # Without a date for the text as issued, it covers everything before the first amendment.
    undated = load_standard(_amended(tmp_path))
    assert undated.for_period(date(2020, 1, 1), date(2026, 10, 31)).version == "07/2021/TT-BTTTT"


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("effective_from = 2026-11-01", 'effective_from = "2026-11-01"',
         "amendment[0].effective_from", "must be a date"),
        ("effective_from = 2027-01-01", "effective_from = 2026-11-01",
         "amendment[1].effective_from", "is not after"),
        ('id = "3/2027/TT-BKHCN"', 'id = "12/2026/TT-BKHCN"', "amendment[1].id", "duplicate"),
        ('remove_kpis = ["ul_mean"]', 'remove_kpis = ["ul_mena"]', "amendment[0].remove_kpis",
         "no KPI 'ul_mena'"),
        ("limit = 90", "limit = 90\nthreshold = 31", "amendment[0].kpi[0].threshold",
         "not an edge"),
        ("limit = 90", "limt = 90", "amendment[0].kpi[0].limt", "unknown key"),
        ('metric = "share_at_least"\nfield = "dl_mbps"\nthreshold = 100',
         'field = "dl_mbps"\nthreshold = 100', "amendment[0].kpi[2].metric", "required"),
        ("citation = { vi", "citaton = { vi", "amendment[0].citaton", "unknown key"),
    ],
)  # fmt: skip
def test_malformed_amendments_are_named(tmp_path: Path, old, new, key, reason) -> None:
    assert old in AMENDED
    path = _amended(tmp_path, AMENDED.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_standard(path)
    assert (caught.value.path, caught.value.key) == (str(path), key), caught.value
    assert reason in caught.value.reason, caught.value.reason
    assert re.match(rf"{re.escape(str(path))}: {re.escape(key)}: ", str(caught.value))
