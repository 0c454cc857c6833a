"""Escalation state machine and the notices it produces."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from giamsat.aggregator import settings as aggregator_settings
from giamsat.aggregator.compliance.escalation import (
    Case,
    CaseState,
    EscalationError,
    Policy,
    close_case,
    next_due,
    open_case,
    transition,
)
from giamsat.aggregator.compliance.notices import render_notice
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.render import to_json
from giamsat.aggregator.compliance.sampling import EARLY_WARNING, EVIDENCE
from giamsat.aggregator.compliance.standards import load_standard
from giamsat.aggregator.compliance.verdicts import KpiVerdict, Scope, Verdict
from giamsat.contract.config import ConfigError

CONFIG = Path(__file__).resolve().parent.parent / "config"
QCVN_126 = load_standard(CONFIG / "standards" / "qcvn-126-2021.toml")
VIETTEL = load_operators(CONFIG / "operators.toml")["Viettel"]
SHA = "9f2c" + "0" * 56 + "beef"


def _verdict(
    start: date,
    end: date,
    verdict: Verdict = Verdict.FAIL,
    grade: str = EVIDENCE,
    value: float = 85.24,
) -> KpiVerdict:
    return KpiVerdict(
        standard_id="QCVN-126:2021/BTTTT",
        kpi_id="dl_mean",
        name_vi="Tốc độ tải xuống trung bình",
        name_en="Mean download throughput",
        metric="mean",
        operator="Viettel",
        technology="5G",
        area="xã Bằng Thành, tỉnh Thái Nguyên",
        period_start=start,
        period_end=end,
        comparator=">=",
        limit=100.0,
        unit="Mbit/s",
        value=value,
        ci_low=value - 2.31,
        ci_high=value + 2.86,
        confidence=0.95,
        method="bootstrap",
        design_effect=None,
        samples=1640,
        probe_days=54,
        per_env={"indoor": 540, "outdoor_fixed": 550, "outdoor_mobile": 550},
        close_samples=0,
        verdict=verdict,
        grade=grade,
        unmet=() if grade == EVIDENCE else ("per_env.indoor: 0 < 500",),
        insufficient=(),
    )


OCTOBER_FAIL = _verdict(date(2026, 10, 1), date(2026, 10, 31))


def _walk_to(state: CaseState) -> Case:
    """The canonical history: opened 3 Nov, notices on 5 Nov and 6 Dec, sanction 6 Jan."""
    case = open_case(OCTOBER_FAIL, date(2026, 11, 3))
    steps = [
        (OCTOBER_FAIL, date(2026, 11, 5)),
        (_verdict(date(2026, 11, 5), date(2026, 12, 4)), date(2026, 12, 6)),
        (_verdict(date(2026, 12, 6), date(2027, 1, 4)), date(2027, 1, 6)),
    ]
    for verdict, on in steps:
        if case.state is state:
            break
        case = transition(case, verdict, on)
    assert case.state is state
    return case


def test_walk_through_every_state_with_dates() -> None:
    case = open_case(OCTOBER_FAIL, date(2026, 11, 3))
    assert case.state is CaseState.OPEN and case.opened_on == date(2026, 11, 3)
    assert next_due(case) == date(2026, 11, 3)

    case = transition(case, OCTOBER_FAIL, date(2026, 11, 5))
    assert case.state is CaseState.NOTICE_1
    assert next_due(case) == date(2026, 12, 5)  # 30-day grace

    case = transition(case, _verdict(date(2026, 11, 5), date(2026, 12, 4)), date(2026, 12, 6))
    assert case.state is CaseState.NOTICE_2
    assert next_due(case) == date(2027, 1, 5)

    case = transition(case, _verdict(date(2026, 12, 6), date(2027, 1, 4)), date(2027, 1, 6))
    assert case.state is CaseState.SANCTION_RECOMMENDED
    assert next_due(case) is None

    passed = _verdict(date(2027, 1, 7), date(2027, 2, 5), Verdict.PASS, value=104.0)
    case = transition(case, passed, date(2027, 2, 6))
    assert case.state is CaseState.CLOSED
    assert [(e.on, e.from_state, e.to_state) for e in case.history] == [
        (date(2026, 11, 3), None, CaseState.OPEN),
        (date(2026, 11, 5), CaseState.OPEN, CaseState.NOTICE_1),
        (date(2026, 12, 6), CaseState.NOTICE_1, CaseState.NOTICE_2),
        (date(2027, 1, 6), CaseState.NOTICE_2, CaseState.SANCTION_RECOMMENDED),
        (date(2027, 2, 6), CaseState.SANCTION_RECOMMENDED, CaseState.CLOSED),
    ]
    assert case.history[-1].verdict == passed
    with pytest.raises(EscalationError, match="closed"):
        transition(case, _verdict(date(2027, 2, 6), date(2027, 3, 5)), date(2027, 3, 6))


def test_premature_second_notice_is_refused_until_the_grace_period_ends() -> None:
    case = _walk_to(CaseState.NOTICE_1)
    failing = _verdict(date(2026, 11, 5), date(2026, 11, 30))
    with pytest.raises(EscalationError, match=r"premature.*until 2026-12-05"):
        transition(case, failing, date(2026, 12, 4))
    assert transition(case, failing, date(2026, 12, 5)).state is CaseState.NOTICE_2
    # The sanction step has its own grace period, and the policy sets both.
    strict = Policy(grace_1_days=10, grace_2_days=60)
    quick = transition(case, failing, date(2026, 12, 1), strict)
    with pytest.raises(EscalationError, match="premature"):
        transition(quick, _verdict(date(2026, 12, 1), date(2027, 1, 15)), date(2027, 1, 20), strict)


def test_escalation_needs_monitoring_after_the_notice() -> None:
    case = _walk_to(CaseState.NOTICE_1)
    with pytest.raises(EscalationError, match="only monitoring after the notice"):
        transition(case, OCTOBER_FAIL, date(2026, 12, 10))


def test_pass_closes_from_any_notice_state_but_only_with_newer_monitoring() -> None:
    for state in (CaseState.OPEN, CaseState.NOTICE_1, CaseState.NOTICE_2):
        case = _walk_to(state)
        passed = _verdict(date(2027, 1, 7), date(2027, 2, 5), Verdict.PASS, value=101.0)
        assert transition(case, passed, date(2027, 2, 6)).state is CaseState.CLOSED
    stale = _verdict(date(2026, 10, 1), date(2026, 10, 31), Verdict.PASS, value=101.0)
    with pytest.raises(EscalationError, match="not later monitoring"):
        transition(_walk_to(CaseState.NOTICE_1), stale, date(2026, 12, 1))


def test_illegal_transitions_are_refused_with_reasons() -> None:
    case = _walk_to(CaseState.NOTICE_1)
    later = (date(2026, 11, 5), date(2026, 12, 4))
    with pytest.raises(EscalationError, match="AT_RISK verdict neither escalates nor closes"):
        transition(case, _verdict(*later, Verdict.AT_RISK), date(2026, 12, 6))
    with pytest.raises(EscalationError, match="INSUFFICIENT_DATA"):
        transition(case, _verdict(*later, Verdict.INSUFFICIENT_DATA), date(2026, 12, 6))
    with pytest.raises(EscalationError, match="does not belong"):
        transition(case, replace(_verdict(*later), kpi_id="ul_mean"), date(2026, 12, 6))
    with pytest.raises(EscalationError, match="before the case's last change"):
        transition(case, _verdict(date(2026, 10, 1), date(2026, 10, 31)), date(2026, 11, 4))
    with pytest.raises(EscalationError, match="before the verdict's period ends"):
        transition(case, _verdict(*later), date(2026, 12, 1))
    with pytest.raises(EscalationError, match="can only be closed"):
        transition(
            _walk_to(CaseState.SANCTION_RECOMMENDED),
            _verdict(date(2027, 1, 6), date(2027, 2, 5)),
            date(2027, 2, 6),
        )
    with pytest.raises(EscalationError, match="only a FAIL opens"):
        open_case(_verdict(*later, Verdict.AT_RISK), date(2026, 12, 6))


def test_early_warning_fail_opens_a_case_but_sends_no_notice() -> None:
    weak = _verdict(date(2026, 10, 1), date(2026, 10, 31), grade=EARLY_WARNING)
    case = open_case(weak, date(2026, 11, 3))
    with pytest.raises(EscalationError, match=r"early-warning FAIL.*per_env.indoor"):
        transition(case, weak, date(2026, 11, 5))
    lenient = Policy(notices_need_evidence=False)
    assert transition(case, weak, date(2026, 11, 5), lenient).state is CaseState.NOTICE_1


def test_close_by_decision_from_any_open_state() -> None:
    for state in (CaseState.OPEN, CaseState.NOTICE_2, CaseState.SANCTION_RECOMMENDED):
        closed = close_case(_walk_to(state), date(2027, 3, 1), "superseded by a national audit")
        assert closed.state is CaseState.CLOSED
        assert closed.history[-1].note == "superseded by a national audit"
        with pytest.raises(EscalationError, match="already closed"):
            close_case(closed, date(2027, 3, 2), "again")
    with pytest.raises(EscalationError, match="needs a reason"):
        close_case(_walk_to(CaseState.OPEN), date(2027, 3, 1), "  ")


def test_case_survives_a_json_round_trip() -> None:
    case = _walk_to(CaseState.NOTICE_2)
    assert Case.from_dict(json.loads(to_json(case))) == case
    assert case.id == (
        "QCVN-126:2021/BTTTT/dl_mean/Viettel/xã Bằng Thành, tỉnh Thái Nguyên/2026-11-03"
    )


def test_first_notice_in_vietnamese() -> None:
    text = render_notice(_walk_to(CaseState.NOTICE_1), VIETTEL, QCVN_126, SHA, date(2026, 11, 5))
    assert unicodedata.is_normalized("NFC", text)
    for phrase in (
        "CỤC VIỄN THÔNG",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Hà Nội, ngày 05 tháng 11 năm 2026",
        "THÔNG BÁO LẦN THỨ NHẤT",
        "Cục Viễn thông gửi Thông báo lần thứ nhất này đến Viettel",
        "không đạt quy chuẩn kỹ thuật quốc gia",
        "Kính gửi: Tập đoàn Công nghiệp - Viễn thông Quân đội (Viettel)",
        f"Địa chỉ trụ sở chính: {VIETTEL.head_office}",
        "Thông tư số 07/2021/TT-BTTTT",
        "- Chỉ tiêu: Tốc độ tải xuống trung bình (dl_mean)",
        "- Khu vực: xã Bằng Thành, tỉnh Thái Nguyên",
        "từ ngày 01/10/2026 đến ngày 31/10/2026",
        "- Giá trị đo được: 85,2 Mbit/s",
        "- Khoảng tin cậy 95 %: 82,9 – 88,1 Mbit/s",
        "- Mức quy định: ≥ 100 Mbit/s",
        "- Số mẫu đo: 1.640 mẫu trong 54 ngày-thiết bị đo",
        "đạt yêu cầu lấy mẫu của quy chuẩn",
        f"- Mã SHA-256 của bộ bằng chứng: {SHA}",
        "trước ngày 05/12/2026",
        "sẽ gửi Thông báo lần thứ hai",
    ):
        assert phrase in text, phrase


def test_first_notice_in_english() -> None:
    case = _walk_to(CaseState.NOTICE_1)
    text = render_notice(case, VIETTEL, QCVN_126, SHA.upper(), date(2026, 11, 5), language="en")
    for phrase in (
        "VIETNAM TELECOMMUNICATIONS AUTHORITY",
        "FIRST NOTICE",
        "To: Viettel Group (Viettel)",
        "- Measured value: 85.2 Mbit/s",
        "- 95% confidence interval: 82.9 – 88.1 Mbit/s",
        "- Required: ≥ 100 Mbit/s",
        "- Samples: 1,640 over 54 probe-days",
        "1 October 2026 to 31 October 2026",
        f"SHA-256 of the evidence bundle: {SHA}",  # normalised to lower case
        "by 5 December 2026",
    ):
        assert phrase in text, phrase


def test_second_notice_and_sanction_recommendation() -> None:
    second = render_notice(_walk_to(CaseState.NOTICE_2), VIETTEL, QCVN_126, SHA, date(2026, 12, 6))
    assert "THÔNG BÁO LẦN THỨ HAI" in second
    assert "Ngày 05/11/2026, Cục Viễn thông đã gửi Thông báo lần thứ nhất" in second
    assert "sẽ đề nghị xử lý vi phạm theo quy định của pháp luật" in second
    assert "trước ngày 05/01/2027" in second

    sanction_case = _walk_to(CaseState.SANCTION_RECOMMENDED)
    sanction = render_notice(sanction_case, VIETTEL, QCVN_126, SHA, date(2027, 1, 6))
    assert "ĐỀ NGHỊ XỬ LÝ VI PHẠM" in sanction
    assert "Kính gửi: Thanh tra Bộ" in sanction
    assert "Thông báo lần thứ nhất ngày 05/11/2026 và Thông báo lần thứ hai ngày 06/12/2026" in (
        sanction
    )
    english = render_notice(sanction_case, VIETTEL, QCVN_126, SHA, date(2027, 1, 6), language="en")
    assert "RECOMMENDATION TO SANCTION" in english and "6 December 2026" in english


def test_notice_refuses_what_it_cannot_state() -> None:
    with pytest.raises(ValueError, match="no notice"):
        render_notice(_walk_to(CaseState.OPEN), VIETTEL, QCVN_126, SHA, date(2026, 11, 5))
    with pytest.raises(ValueError, match="64 hexadecimal"):
        render_notice(_walk_to(CaseState.NOTICE_1), VIETTEL, QCVN_126, "abc", date(2026, 11, 5))
    with pytest.raises(ValueError, match="language"):
        render_notice(
            _walk_to(CaseState.NOTICE_1), VIETTEL, QCVN_126, SHA, date(2026, 11, 5), language="fr"
        )


def test_notice_names_the_ministry_and_the_signatory_by_default() -> None:
    text = render_notice(_walk_to(CaseState.NOTICE_1), VIETTEL, QCVN_126, SHA, date(2026, 11, 5))
    lines = text.splitlines()
    assert lines[:2] == ["BỘ KHOA HỌC VÀ CÔNG NGHỆ", "CỤC VIỄN THÔNG"]
    assert "CỤC TRƯỞNG" in lines
    english = render_notice(
        _walk_to(CaseState.NOTICE_1), VIETTEL, QCVN_126, SHA, date(2026, 11, 5), language="en"
    )
    assert english.splitlines()[:2] == [
        "MINISTRY OF SCIENCE AND TECHNOLOGY",
        "VIETNAM TELECOMMUNICATIONS AUTHORITY",
    ]
    assert "DIRECTOR GENERAL" in english.splitlines()


def test_a_provincial_department_issues_notices_in_its_own_name(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(
        "[issuer]\n"
        'authority = { vi = "Sở Khoa học và Công nghệ tỉnh Tuyên Quang",'
        ' en = "Tuyen Quang Department of Science and Technology" }\n'
        'ministry = { vi = "Ủy ban nhân dân tỉnh Tuyên Quang",'
        ' en = "Tuyen Quang Provincial People\'s Committee" }\n'
        'place = { vi = "Tuyên Quang", en = "Tuyen Quang" }\n'
        'signatory = { vi = "Giám đốc", en = "Director" }\n'
    )
    issuer = aggregator_settings.load(config).issuer
    assert issuer.inspectorate_vi == "Thanh tra Bộ"  # not set: the default
    case = _walk_to(CaseState.NOTICE_1)
    text = render_notice(case, VIETTEL, QCVN_126, SHA, date(2026, 11, 5), issuer=issuer)
    lines = text.splitlines()
    assert lines[:2] == [
        "ỦY BAN NHÂN DÂN TỈNH TUYÊN QUANG",
        "SỞ KHOA HỌC VÀ CÔNG NGHỆ TỈNH TUYÊN QUANG",
    ]
    assert "Tuyên Quang, ngày 05 tháng 11 năm 2026" in lines
    assert "GIÁM ĐỐC" in lines
    assert "Sở Khoa học và Công nghệ tỉnh Tuyên Quang gửi Thông báo lần thứ nhất" in text
    assert "Cục Viễn thông" not in text


def test_issuer_mistakes_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text('[issuer]\nplace = { vi = " ", en = "Hanoi" }\n')
    with pytest.raises(ConfigError, match=r"issuer\.place\.vi: must not be empty"):
        aggregator_settings.load(config)
    config.write_text('[issuer]\nsignatory = { vi = "Cục trưởng", fr = "Directeur" }\n')
    with pytest.raises(ConfigError, match=r"issuer\.signatory\.fr: unknown key"):
        aggregator_settings.load(config)


def test_notice_names_the_declared_service_area_by_its_hash() -> None:
    """The operator can check which of its declarations the finding was judged within."""
    declared = Scope(("d" * 64,), 2, 37)
    verdict = replace(OCTOBER_FAIL, scope=declared)
    case = transition(open_case(verdict, date(2026, 11, 3)), verdict, date(2026, 11, 5))
    vi = render_notice(case, VIETTEL, QCVN_126, SHA, date(2026, 11, 5))
    for phrase in (
        "- Vùng phục vụ 5G do Viettel công bố (mã SHA-256 của tệp công bố):\n  " + "d" * 64,
        "- Mẫu đo ngoài vùng phục vụ đã công bố (không tính): 37",
        "- Số ngày không có vùng phục vụ công bố (mọi mẫu đo đều được tính): 2",
    ):
        assert phrase in vi, phrase
    en = render_notice(case, VIETTEL, QCVN_126, SHA, date(2026, 11, 5), language="en")
    assert "- 5G service area declared by Viettel (SHA-256 of the file):\n  " + "d" * 64 in en
    assert "- Samples outside the declared area (not counted): 37" in en

    nothing = replace(OCTOBER_FAIL, scope=Scope((), 31, 0))
    case = transition(open_case(nothing, date(2026, 11, 3)), nothing, date(2026, 11, 5))
    en = render_notice(case, VIETTEL, QCVN_126, SHA, date(2026, 11, 5), language="en")
    assert "Viettel declared no 5G service area for the monitoring period" in en
    assert Case.from_dict(json.loads(to_json(case))) == case  # the scope survives storage


def test_measurements_older_than_the_policy_allows_open_or_advance_nothing() -> None:
    """Default: a year. October 2026's FAIL opens a case until 1 October 2027, not after."""
    assert open_case(OCTOBER_FAIL, date(2027, 10, 1)).state is CaseState.OPEN
    with pytest.raises(EscalationError) as refused:
        open_case(OCTOBER_FAIL, date(2027, 10, 2))
    assert str(refused.value) == (
        "the verdict covers 2026-10-01..2026-10-31; on 2027-10-02, measurements from before"
        " 2026-10-02 (365 days) do not count for a case"
    )
    two_years = Policy(evidence_max_age_days=730)
    assert open_case(OCTOBER_FAIL, date(2027, 10, 2), two_years).state is CaseState.OPEN
    # Advancing on old measurements is refused the same way, whatever the grace periods say.
    case = open_case(OCTOBER_FAIL, date(2026, 11, 3))
    with pytest.raises(EscalationError, match="do not count for a case"):
        transition(case, OCTOBER_FAIL, date(2027, 10, 2))
    assert transition(case, OCTOBER_FAIL, date(2026, 11, 5)).state is CaseState.NOTICE_1


def test_a_sanction_waits_for_the_operator_s_answer_window_to_close() -> None:
    """45 days to answer the second notice of 6 December: longer than its 30-day grace."""
    patient = Policy(response_window_days=45)
    case = _walk_to(CaseState.NOTICE_2)
    later = _verdict(date(2026, 12, 7), date(2027, 1, 5))
    with pytest.raises(EscalationError) as refused:
        transition(case, later, date(2027, 1, 6), patient)
    assert str(refused.value) == (
        "sanction_recommended is premature on 2027-01-06: the operator's response window"
        " after notice_2 of 2026-12-06 is open until 2027-01-20"
    )
    assert next_due(case, patient) == date(2027, 1, 21)
    sanctioned = transition(case, later, date(2027, 1, 21), patient)
    assert sanctioned.state is CaseState.SANCTION_RECOMMENDED
    # With the default 15 days, the 30-day grace is what holds the case.
    assert transition(case, later, date(2027, 1, 6)).state is CaseState.SANCTION_RECOMMENDED
