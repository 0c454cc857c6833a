"""Notice documents for an escalated case, in Vietnamese and English.

A notice must let the operator reproduce the finding: it quotes the KPI, the
measured value with its confidence interval, the limit, the area and period,
the sample counts and whether sampling met the standard's rules, and the
SHA-256 of the evidence bundle that holds the signed raw data. The text is a
draft for an authorised official to sign; it says so.

It names the service area the operator declared (Annex B) that the verdict
was judged within, by the SHA-256 of the declaration file, with the samples
left outside it, or says the operator declared none. It also names the
version of the standard the verdict was judged by, and
when the KPI's definition, threshold or limit is not confirmed from the
official text, it says so beside the limit, with the standard file's note:
the official who signs must know the finding rests on a figure still to be
confirmed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from giamsat.aggregator.compliance.escalation import DEFAULT_POLICY, Case, CaseState, Policy
from giamsat.aggregator.compliance.operators import Operator
from giamsat.aggregator.compliance.sampling import EVIDENCE
from giamsat.aggregator.compliance.standards import Standard
from giamsat.aggregator.compliance.verdicts import KpiVerdict, Verdict
from giamsat.aggregator.settings import Issuer

LANGUAGES: tuple[str, ...] = ("vi", "en")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_SYMBOL = {">=": "≥", "<=": "≤"}
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip


DEFAULT_ISSUER = Issuer()


def _decimals(unit: str) -> int:
    return 2 if unit == "s" else 1


def _limit_decimals(limit: float, unit: str) -> int:
    """A limit is printed as written in the standard: 100, not 100.0."""
    return 0 if float(limit).is_integer() else _decimals(unit)


def _vi_number(value: float, decimals: int = 0) -> str:
    """Vietnamese style: 1.640 and 85,2 (dot groups thousands, comma marks decimals)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def _en_number(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def _vi_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def _en_date(day: date) -> str:
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class _Facts:
    """Everything a notice quotes, checked once so the templates need no None handling."""

    case: Case
    verdict: KpiVerdict
    value: float
    low: float
    high: float
    operator: Operator
    standard: Standard
    sha256: str
    issued_on: date
    deadline: date
    answer_by: date
    notice_1: date
    notice_2: date
    issuer: Issuer

    @property
    def first(self) -> bool:
        return self.case.state is CaseState.NOTICE_1

    @property
    def sanction(self) -> bool:
        return self.case.state is CaseState.SANCTION_RECOMMENDED


def _version_line(f: _Facts, label: str, since: str, fmt: Callable[[date], str]) -> list[str]:
    """The version of the standard the verdict names, with the day it took effect if known."""
    version = f.verdict.version
    if version is None:
        return []
    found = next((x for x in f.standard.versions if x.id == version), None)
    line = f"- {label}: {f.standard.code}, {version}"
    if found is not None and found.effective_from is not None:
        line += f" ({since} {fmt(found.effective_from)})"
    return [line]


def _unconfirmed_vi(v: KpiVerdict) -> list[str]:
    if not v.unconfirmed:
        return []
    return [
        "- CHƯA XÁC NHẬN: định nghĩa, ngưỡng hoặc mức quy định của chỉ tiêu này chưa được"
        f" đối chiếu với văn bản chính thức của quy chuẩn ({v.unconfirmed})"
    ]


def _unconfirmed_en(v: KpiVerdict) -> list[str]:
    if not v.unconfirmed:
        return []
    return [
        "- UNCONFIRMED: this KPI's definition, threshold or limit has not been checked"
        f" against the official text of the standard ({v.unconfirmed})"
    ]


def _scope_vi(v: KpiVerdict) -> list[str]:
    scope = v.scope
    if scope is None:
        return []
    if scope.declared == "none":
        return [
            f"- Vùng phục vụ: {v.operator} không công bố vùng phục vụ {v.technology} trong thời"
            " gian giám sát; mọi mẫu đo đều được đánh giá"
        ]
    lines = [f"- Vùng phục vụ {v.technology} do {v.operator} công bố (mã SHA-256 của tệp công bố):"]
    lines += [f"  {sha}" for sha in scope.declarations]
    lines.append(
        f"- Mẫu đo ngoài vùng phục vụ đã công bố (không tính): {_vi_number(scope.outside)}"
    )
    if scope.declared == "part":
        lines.append(
            f"- Số ngày không có vùng phục vụ công bố (mọi mẫu đo đều được tính):"
            f" {_vi_number(scope.undeclared_days)}"
        )
    return lines


def _scope_en(v: KpiVerdict) -> list[str]:
    scope = v.scope
    if scope is None:
        return []
    if scope.declared == "none":
        return [
            f"- Service area: {v.operator} declared no {v.technology} service area for the"
            " monitoring period; every sample was judged"
        ]
    lines = [f"- {v.technology} service area declared by {v.operator} (SHA-256 of the file):"]
    lines += [f"  {sha}" for sha in scope.declarations]
    lines.append(f"- Samples outside the declared area (not counted): {_en_number(scope.outside)}")
    if scope.declared == "part":
        lines.append(
            "- Days with no declared service area (every sample counted):"
            f" {_en_number(scope.undeclared_days)}"
        )
    return lines


def _finding_vi(f: _Facts) -> list[str]:
    v = f.verdict
    d = _decimals(v.unit)
    method = (
        "bootstrap theo ngày-thiết bị đo"
        if v.method == "bootstrap"
        else "khoảng Wilson có hiệu chỉnh theo ngày-thiết bị đo"
    )
    grade = (
        "đạt yêu cầu lấy mẫu của quy chuẩn (tổng số mẫu, số mẫu theo môi trường đo,"
        " khoảng cách giữa các mẫu)"
        if v.grade == EVIDENCE
        else "cảnh báo sớm, chưa đạt yêu cầu lấy mẫu: " + "; ".join(v.unmet)
    )
    return [
        f"- Chỉ tiêu: {v.name_vi} ({v.kpi_id})",
        f"- Khu vực: {v.area}",
        *_scope_vi(v),
        f"- Thời gian giám sát: từ ngày {_vi_date(v.period_start)}"
        f" đến ngày {_vi_date(v.period_end)}",
        f"- Giá trị đo được: {_vi_number(f.value, d)} {v.unit}",
        f"- Khoảng tin cậy {_vi_number(v.confidence * 100)} %: "
        f"{_vi_number(f.low, d)} – {_vi_number(f.high, d)} {v.unit} ({method})",
        f"- Mức quy định: {_SYMBOL[v.comparator]}"
        f" {_vi_number(v.limit, _limit_decimals(v.limit, v.unit))} {v.unit}",
        *_unconfirmed_vi(v),
        *_version_line(f, "Phiên bản quy chuẩn áp dụng", "hiệu lực từ ngày", _vi_date),
        f"- Số mẫu đo: {_vi_number(v.samples)} mẫu trong"
        f" {_vi_number(v.probe_days)} ngày-thiết bị đo",
        f"- Mức độ bằng chứng: {grade}",
        f"- Mã SHA-256 của bộ bằng chứng: {f.sha256}",
    ]


def _finding_en(f: _Facts) -> list[str]:
    v = f.verdict
    d = _decimals(v.unit)
    method = (
        "bootstrap over probe-days"
        if v.method == "bootstrap"
        else "Wilson interval corrected for probe-day clustering"
    )
    grade = (
        "meets the standard's sampling rules (total, per environment, spacing)"
        if v.grade == EVIDENCE
        else "early warning; sampling rules not met: " + "; ".join(v.unmet)
    )
    return [
        f"- KPI: {v.name_en} ({v.kpi_id})",
        f"- Area: {v.area}",
        *_scope_en(v),
        f"- Monitoring period: {_en_date(v.period_start)} to {_en_date(v.period_end)}",
        f"- Measured value: {_en_number(f.value, d)} {v.unit}",
        f"- {_en_number(v.confidence * 100)}% confidence interval: "
        f"{_en_number(f.low, d)} – {_en_number(f.high, d)} {v.unit} ({method})",
        f"- Required: {_SYMBOL[v.comparator]}"
        f" {_en_number(v.limit, _limit_decimals(v.limit, v.unit))} {v.unit}",
        *_unconfirmed_en(v),
        *_version_line(f, "Version of the standard applied", "in force from", _en_date),
        f"- Samples: {_en_number(v.samples)} over {_en_number(v.probe_days)} probe-days",
        f"- Evidence grade: {grade}",
        f"- SHA-256 of the evidence bundle: {f.sha256}",
    ]


def _vietnamese(f: _Facts) -> list[str]:
    authority, op, std = f.issuer.authority_vi, f.operator, f.standard
    header = [
        f.issuer.ministry_vi.upper(),
        authority.upper(),
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        f"Số hồ sơ: {f.case.id}",
        f"{f.issuer.place_vi}, ngày {f.issued_on.day:02d} tháng {f.issued_on.month:02d}"
        f" năm {f.issued_on.year}",
        "",
    ]
    subject = f"V/v chất lượng dịch vụ {f.verdict.technology} không đạt quy chuẩn kỹ thuật quốc gia"
    grounds = [
        f"Căn cứ {std.title_vi} ({std.citation_vi});",
        "Căn cứ kết quả giám sát chất lượng dịch vụ liên tục bằng hệ thống đo kiểm tự động,",
        "",
    ]
    interval_note = (
        "Toàn bộ khoảng tin cậy nằm ở phía không đạt của mức quy định, vì vậy kết luận"
        " không đạt không phụ thuộc vào sai số lấy mẫu. Bộ bằng chứng gồm dữ liệu đo gốc"
        " có chữ ký số của từng thiết bị đo, quy chuẩn áp dụng, kết quả thống kê và bản đồ;"
        " bất kỳ bên nào cũng có thể tự kiểm chứng mà không cần kết nối mạng."
    )
    if f.sanction:
        recipient = f.issuer.inspectorate_vi
        body = [
            "ĐỀ NGHỊ XỬ LÝ VI PHẠM",
            subject,
            "",
            f"Kính gửi: {recipient}",
            "",
            *grounds,
            f"{authority} đề nghị xem xét xử lý vi phạm đối với {op.legal_name_vi} ({op.name}),"
            f" địa chỉ trụ sở chính: {op.head_office}. Doanh nghiệp đã nhận Thông báo lần thứ"
            f" nhất ngày {_vi_date(f.notice_1)} và Thông báo lần thứ hai ngày"
            f" {_vi_date(f.notice_2)}, nhưng sau thời hạn khắc phục chỉ tiêu sau đây vẫn không"
            f" đạt {std.code}:",
            "",
            *_finding_vi(f),
            "",
            interval_note,
        ]
    else:
        recipient = op.name
        ordinal = "lần thứ nhất" if f.first else "lần thứ hai"
        body = [
            f"THÔNG BÁO {ordinal.upper()}",
            subject,
            "",
            f"Kính gửi: {op.legal_name_vi} ({op.name})",
            f"Địa chỉ trụ sở chính: {op.head_office}",
            "",
            *grounds,
        ]
        if not f.first:
            body.append(
                f"Ngày {_vi_date(f.notice_1)}, {authority} đã gửi Thông báo lần thứ nhất về chỉ"
                " tiêu dưới đây. Kết quả giám sát sau thời hạn khắc phục cho thấy chỉ tiêu vẫn"
                " không đạt."
            )
        consequence = (
            f"{authority} sẽ gửi Thông báo lần thứ hai."
            if f.first
            else f"{authority} sẽ đề nghị xử lý vi phạm theo quy định của pháp luật."
        )
        body += [
            f"{authority} gửi Thông báo {ordinal} này đến {op.name}: chỉ tiêu sau đây không"
            f" đạt {std.code}.",
            "",
            *_finding_vi(f),
            "",
            interval_note,
            "",
            f"Đề nghị {op.name} khắc phục và báo cáo kết quả về {authority} trước ngày"
            f" {_vi_date(f.deadline)}. Nếu sau thời hạn này chỉ tiêu vẫn không đạt,"
            f" {consequence}",
            "",
            f"{op.name} có thể gửi ý kiến giải trình về Thông báo này, kèm tài liệu (như kết"
            f" quả đo kiểm của doanh nghiệp), đến hết ngày {_vi_date(f.answer_by)}.",
        ]
    footer = [
        "",
        "Nơi nhận:",
        f"- {recipient};",
        "- Lưu: VT.",
        "",
        f.issuer.signatory_vi.upper(),
        "(Ký, ghi rõ họ tên, đóng dấu)",
        "",
        "(Văn bản do hệ thống giám sát giamsat lập; có hiệu lực khi được người có thẩm quyền ký.)",
    ]
    return header + body + footer


def _english(f: _Facts) -> list[str]:
    authority, op, std = f.issuer.authority_en, f.operator, f.standard
    header = [
        f.issuer.ministry_en.upper(),
        authority.upper(),
        "SOCIALIST REPUBLIC OF VIETNAM",
        "Independence - Freedom - Happiness",
        f"Case reference: {f.case.id}",
        f"{f.issuer.place_en}, {_en_date(f.issued_on)}",
        "",
    ]
    subject = f"Re: {f.verdict.technology} service quality below the national technical regulation"
    grounds = [
        f"Pursuant to the {std.title_en} ({std.citation_en});",
        "Pursuant to the results of continuous automated service-quality monitoring,",
        "",
    ]
    interval_note = (
        "The whole confidence interval lies on the failing side of the limit, so the finding"
        " does not depend on sampling error. The evidence bundle holds the raw measurements"
        " signed by each probe, the standard applied, the statistics and the map; anyone can"
        " verify it offline."
    )
    if f.sanction:
        body = [
            "RECOMMENDATION TO SANCTION",
            subject,
            "",
            f"To: {f.issuer.inspectorate_en}",
            "",
            *grounds,
            f"The {authority} recommends sanctioning {op.legal_name_en} ({op.name}), head"
            f" office: {op.head_office}. The operator received the first notice on"
            f" {_en_date(f.notice_1)} and the second notice on {_en_date(f.notice_2)}, yet after"
            f" the grace periods the following KPI still does not meet {std.code}:",
            "",
            *_finding_en(f),
            "",
            interval_note,
        ]
    else:
        ordinal = "first" if f.first else "second"
        body = [
            f"{ordinal.upper()} NOTICE",
            subject,
            "",
            f"To: {op.legal_name_en} ({op.name})",
            f"Head office: {op.head_office}",
            "",
            *grounds,
        ]
        if not f.first:
            body.append(
                f"On {_en_date(f.notice_1)} the {authority} sent its first notice about the KPI"
                " below. Monitoring after the grace period shows that it still fails."
            )
        consequence = (
            f"the {authority} will send a second notice."
            if f.first
            else f"the {authority} will recommend sanctions under the law."
        )
        body += [
            f"By this {ordinal} notice the {authority} informs {op.name} that the following"
            f" KPI does not meet {std.code}.",
            "",
            *_finding_en(f),
            "",
            interval_note,
            "",
            f"{op.name} is requested to remedy this and report to the {authority} by"
            f" {_en_date(f.deadline)}. If the KPI still fails after that date, {consequence}",
            "",
            f"{op.name} may answer this notice, with documents such as its own drive-test"
            f" measurements, until {_en_date(f.answer_by)}.",
        ]
    footer = [
        "",
        f.issuer.signatory_en.upper(),
        "(Signature, full name, seal)",
        "",
        "(Drafted by the giamsat monitoring system; valid once signed by an authorised official.)",
    ]
    return header + body + footer


def render_notice(
    case: Case,
    operator: Operator,
    standard: Standard,
    bundle_sha256: str,
    issued_on: date,
    *,
    language: str = "vi",
    policy: Policy = DEFAULT_POLICY,
    issuer: Issuer = DEFAULT_ISSUER,
) -> str:
    """The notice (or sanction recommendation) for the case's current state, as plain text."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    if not _SHA256.match(bundle_sha256):
        raise ValueError("bundle_sha256 must be 64 hexadecimal digits")
    if case.state not in (CaseState.NOTICE_1, CaseState.NOTICE_2, CaseState.SANCTION_RECOMMENDED):
        raise ValueError(f"a case in state {case.state.value} has no notice to send")
    if (operator.name, standard.id) != (case.operator, case.standard_id):
        raise ValueError(f"operator/standard do not match case {case.id}")
    verdict = case.latest_verdict
    if (
        verdict is None
        or verdict.verdict is not Verdict.FAIL
        or verdict.value is None
        or verdict.ci_low is None
        or verdict.ci_high is None
    ):
        raise ValueError(f"case {case.id} has no FAIL verdict to cite")
    notice_1 = case.entered(CaseState.NOTICE_1)
    notice_2 = case.entered(CaseState.NOTICE_2)
    if notice_1 is None or (case.state is not CaseState.NOTICE_1 and notice_2 is None):
        raise ValueError(f"case {case.id} history lacks the notices its state implies")
    facts = _Facts(
        case=case,
        verdict=verdict,
        value=verdict.value,
        low=verdict.ci_low,
        high=verdict.ci_high,
        operator=operator,
        standard=standard,
        sha256=bundle_sha256.lower(),
        issued_on=issued_on,
        deadline=issued_on + timedelta(days=policy.grace_after(case.state)),
        answer_by=issued_on + timedelta(days=policy.response_window_days),
        notice_1=notice_1,
        notice_2=notice_2 or notice_1,
        issuer=issuer,
    )
    lines = _vietnamese(facts) if language == "vi" else _english(facts)
    return unicodedata.normalize("NFC", "\n".join(lines) + "\n")
