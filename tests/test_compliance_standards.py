"""Standards, operators and coverage thresholds load from TOML, and mistakes are named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from giamsat.agent.signal.operators import VIETNAM
from giamsat.aggregator.aggregates.histogram import FIELD_EDGES, GAP_EDGES_S, is_edge
from giamsat.aggregator.compliance.coverage import load_coverage
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.standards import load_standard, load_standards
from giamsat.contract.config import ConfigError

CONFIG = Path(__file__).resolve().parent.parent / "config"
STANDARDS = CONFIG / "standards"
QCVN_126 = STANDARDS / "qcvn-126-2021.toml"
QCVN_81 = STANDARDS / "qcvn-81-2019.toml"
OPERATORS = CONFIG / "operators.toml"


def test_shipped_standards_carry_the_design_figures() -> None:
    standards = load_standards(STANDARDS)
    assert set(standards) == {"QCVN-126:2021/BTTTT", "QCVN-81:2019/BTTTT"}

    nr = standards["QCVN-126:2021/BTTTT"]
    assert nr.technology == "5G" and nr.record_techs == ("NR-SA", "NR-NSA")
    figures = {k.id: (k.metric, k.comparator, k.limit) for k in nr.kpis}
    assert figures == {
        "dl_mean": ("mean", ">=", 100.0),
        "ul_mean": ("mean", ">=", 30.0),
        "dl_share_30": ("share_at_least", ">=", 95.0),
        "latency_mean": ("mean", "<=", 50.0),
        "access_failure": ("access_failure_ratio", "<=", 5.0),
        "radio_availability": ("radio_availability", ">=", 95.0),
        "dropped_transfer": ("dropped_transfer_ratio", "<=", 10.0),
    }
    assert nr.kpi("dl_share_30").threshold == 30.0
    # Not yet read from the official text: marked so, with the reason.
    assert nr.kpi("radio_availability").unconfirmed is not None
    assert "§1.4.5" in nr.kpi("radio_availability").unconfirmed
    assert "5 % and 10 %" in nr.kpi("dropped_transfer").unconfirmed
    assert nr.kpi("dl_mean").unconfirmed is None
    assert nr.version == "07/2021/TT-BTTTT" and len(nr.versions) == 1
    assert nr.sampling.min_samples == 1500 and nr.sampling.min_spacing_s == 30.0
    assert nr.sampling.per_env == {"indoor": 500, "outdoor_fixed": 500, "outdoor_mobile": 500}
    assert nr.early_warning.min_samples < nr.sampling.min_samples

    lte = standards["QCVN-81:2019/BTTTT"]
    assert lte.record_techs == ("LTE",)
    assert lte.kpi("radio_availability").limit == 95.0
    # §2.1.1's own sampling: 100,000 outdoor-mobile samples at different hours.
    availability = lte.rules_for(lte.kpi("radio_availability"))
    assert availability.min_samples == 100_000
    assert availability.per_env == {"outdoor_mobile": 100_000}
    assert availability.min_spacing_s == 30.0  # the standard's, per device
    assert availability.hours is not None and availability.hours.envs == ("outdoor_mobile",)
    assert lte.rules_for(lte.kpi("dl_mean")) is lte.sampling
    assert lte.kpi("dropped_transfer").unconfirmed is not None
    assert lte.kpi("access_failure").limit == 5.0
    assert (lte.kpi("access_time_mean").comparator, lte.kpi("access_time_mean").limit) == ("<=", 5)
    assert lte.kpi("dl_mean").declared == "vd" and lte.kpi("dl_mean").limit is None
    assert lte.kpi("ul_mean").declared == "vu"
    assert "Thông tư số 09/2019/TT-BTTTT" in lte.citation_vi
    assert "Circular No. 09/2019/TT-BTTTT" in lte.citation_en
    assert (nr.code, lte.code) == ("QCVN 126:2021/BTTTT", "QCVN 81:2019/BTTTT")


def test_operators_match_the_probe_side_names_and_resolve_declared_limits() -> None:
    operators = load_operators(OPERATORS)
    assert set(operators) == {"Viettel", "VinaPhone", "MobiFone", "Vietnamobile"}
    for op in operators.values():
        assert VIETNAM[(op.mcc, op.mnc)] == op.name
        assert "Hà Nội" in op.head_office
    lte = load_standard(QCVN_81)
    viettel = operators["Viettel"]
    assert viettel.limit_for(lte, lte.kpi("dl_mean")) == viettel.declared["4G"]["vd"]
    assert viettel.limit_for(lte, lte.kpi("access_failure")) == 5.0


def test_every_shipped_limit_and_threshold_is_a_histogram_edge() -> None:
    for standard in load_standards(STANDARDS).values():
        assert is_edge(GAP_EDGES_S, standard.sampling.min_spacing_s)
        for kpi in standard.kpis:
            if kpi.threshold is not None:
                assert is_edge(FIELD_EDGES[kpi.field or "rsrp_dbm"], kpi.threshold)
            if kpi.metric == "mean" and kpi.limit is not None:
                assert is_edge(FIELD_EDGES[kpi.field or ""], kpi.limit)


def _mutated(tmp_path: Path, source: Path, old: str, new: str, count: int = 1) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {source.name}"
    target = tmp_path / source.name
    target.write_text(text.replace(old, new, count), encoding="utf-8")
    return target


MALFORMED = [
    # (what, old text, new text, key named, words in the reason)
    ("missing key", 'comparator = "<="\nlimit = 50', "limit = 50", "kpi[3].comparator", "required"),
    ("missing sampling", "min_samples = 1500\n", "", "sampling.min_samples", "required"),
    ("bad comparator", 'comparator = ">="\nlimit = 100', 'comparator = "=>"\nlimit = 100',
     "kpi[0].comparator", "must be one of"),
    ("limit not an edge", "limit = 100", "limit = 101", "kpi[0].limit", "not an edge"),
    ("threshold not an edge", "threshold = 30", "threshold = 31", "kpi[2].threshold",
     "not an edge"),
    ("unknown metric", 'metric = "share_at_least"', 'metric = "median"', "kpi[2].metric",
     "must be one of"),
    ("unit of another field", 'unit = "ms"', 'unit = "s"', "kpi[3].unit", "'ms'"),
    ("share not in percent", 'limit = 95\nunit = "%"', 'limit = 95\nunit = "Mbit/s"',
     "kpi[2].unit", '"%"'),
    ("share above 100 %", "limit = 95", "limit = 950", "kpi[2].limit", "at most 100"),
    ("spacing not an edge", "min_spacing_s = 30", "min_spacing_s = 31", "sampling.min_spacing_s",
     "not an edge"),
    ("declared share", "limit = 95", 'limit = "declared:vd"', "kpi[2].limit", "declared"),
    ("field on a ratio", 'metric = "access_failure_ratio"',
     'metric = "access_failure_ratio"\nfield = "dl_mbps"', "kpi[4].field", "not used"),
    ("duplicate KPI", 'id = "ul_mean"', 'id = "dl_mean"', "kpi[1].id", "duplicate"),
    ("typo key", 'unit = "ms"', 'unit = "ms"\nlimt = 3', "kpi[3].limt", "unknown key"),
    ("unknown technology", '"NR-NSA"]', '"NR-NSX"]', "record_techs", "NR-NSX"),
    ("early warning above evidence", "min_samples = 200", "min_samples = 2000",
     "early_warning.min_samples", "exceeds"),
    ("not TOML", "[title]", "[title", "-", "not valid TOML"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "old", "new", "key", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_malformed_standard_is_rejected_naming_file_and_key(
    tmp_path: Path, what: str, old: str, new: str, key: str, reason: str
) -> None:
    path = _mutated(tmp_path, QCVN_126, old, new)
    with pytest.raises(ConfigError) as caught:
        load_standard(path)
    error = caught.value
    assert error.path == str(path)
    assert error.key == key, what
    assert reason in error.reason, error.reason
    assert str(error).startswith(f"{path}: {key}: ")


def test_directory_load_fails_on_a_mistyped_kind_instead_of_skipping(tmp_path: Path) -> None:
    shutil.copy(STANDARDS / "coverage.toml", tmp_path / "coverage.toml")
    _mutated(tmp_path, QCVN_126, 'kind = "quality"', 'kind = "qualty"')
    with pytest.raises(ConfigError) as caught:
        load_standards(tmp_path)
    assert caught.value.key == "kind"


def test_same_standard_twice_is_rejected(tmp_path: Path) -> None:
    shutil.copy(QCVN_126, tmp_path / "a.toml")
    shutil.copy(QCVN_126, tmp_path / "b.toml")
    with pytest.raises(ConfigError, match="also defined in"):
        load_standards(tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("vd = 25", "vd = 2.5555", "operator[0].declared.4G.vd", "more precise than 1 kbit/s"),
        ("vd = 25", "vd = 0", "operator[0].declared.4G.vd", "must be a speed in Mbit/s"),
        ("mnc = 2\n", "mnc = 4\n", "operator[1].mnc", "already belongs to Viettel"),
        ('name = "MobiFone"', 'name = "Viettel"', "operator[2].name", "duplicate"),
        ("mcc = 452\nmnc = 5", "mnc = 5", "operator[3].mcc", "required"),
    ],
)
def test_malformed_operators_are_rejected(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    path = _mutated(tmp_path, OPERATORS, old, new)
    with pytest.raises(ConfigError) as caught:
        load_operators(path)
    assert (caught.value.path, caught.value.key) == (str(path), key)
    assert reason in caught.value.reason


def test_real_declared_speeds_are_kept_exactly(tmp_path: Path) -> None:
    """Vd 16, Vu 2.5 and 256 kbit/s are real declarations: none is refused for binning."""
    path = _mutated(tmp_path, OPERATORS, "vd = 25\nvu = 8", "vd = 16\nvu = 0.256")
    viettel = load_operators(path)["Viettel"]
    lte = load_standard(QCVN_81)
    assert viettel.limit_for(lte, lte.kpi("dl_mean")) == 16.0
    assert viettel.limit_for(lte, lte.kpi("ul_mean")) == 0.256


def test_missing_declaration_is_named_when_the_limit_is_needed(tmp_path: Path) -> None:
    path = _mutated(tmp_path, OPERATORS, "vd = 15\n", "")
    operators = load_operators(path)
    lte = load_standard(QCVN_81)
    with pytest.raises(ConfigError) as caught:
        operators["Vietnamobile"].limit_for(lte, lte.kpi("dl_mean"))
    assert caught.value.path == str(path)
    assert caught.value.key == "operator.Vietnamobile.declared.4G.vd"


def test_coverage_thresholds_load_and_classify() -> None:
    coverage = load_coverage(STANDARDS / "coverage.toml")
    lte, nr = coverage.rules["LTE"], coverage.rules["NR"]
    assert (lte.covered_dbm, lte.dead_dbm) == (-109.0, -120.0)
    assert nr.covered_dbm == -110.0 and nr.record_techs == ("NR-SA", "NR-NSA")
    assert lte.classify(True, -109.0) == "covered"
    assert lte.classify(True, -109.1) == "weak"
    assert lte.classify(True, -120.0) == "weak"
    assert lte.classify(True, -120.5) == "dead"
    assert lte.classify(False, None) == "dead"
    assert lte.classify(True, None) is None


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("covered_dbm = -109", "covered_dbm = -109.5", "technology[0].covered_dbm"),
        ("dead_dbm = -120\nsource", "dead_dbm = -100\nsource", "technology[0].dead_dbm"),
        ('record_techs = ["LTE"]', 'record_techs = ["4G"]', "technology[0].record_techs"),
    ],
)
def test_malformed_coverage_is_rejected(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = _mutated(tmp_path, STANDARDS / "coverage.toml", old, new)
    with pytest.raises(ConfigError) as caught:
        load_coverage(path)
    assert (caught.value.path, caught.value.key) == (str(path), key)
