"""The bundle's PDF report, in Vietnamese first and English second.

It answers what an operator's lawyer would ask, in this order: what was
measured (the standard's KPIs and limits), where (the area, its map), when
(the period and the first and last record), by which probes (with their key
fingerprints), the result (each KPI's value, 95 % interval, verdict and
whether the sampling met the standard's own rules), and how to check all of
it without trusting the aggregator. It names the version of the standard the
verdicts were judged by, and marks every KPI whose definition, threshold or
limit is not confirmed from the official text, beside its limit and its
verdict, with the standard file's note. It is a rendering of the other files; the
verifier does not read it, and the manifest's hash pins it.

Vietnamese needs a Unicode font with its precomposed letters: DejaVu Sans
(Debian ``fonts-dejavu-core``) is embedded, and all text is NFC-normalised,
so ``pdftotext`` gives back "Tốc độ" and not a base letter with stray marks.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

import h3
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from giamsat.aggregator.compliance.operators import Operator
from giamsat.aggregator.compliance.sampling import EVIDENCE
from giamsat.aggregator.compliance.standards import Standard
from giamsat.aggregator.compliance.verdicts import Assessment, KpiVerdict, Verdict
from giamsat.aggregator.evidence import layout
from giamsat.aggregator.evidence.keys import fingerprint
from giamsat.aggregator.evidence.manifest import overall_verdict
from giamsat.aggregator.evidence.mapping import DeclaredGap
from giamsat.aggregator.evidence.records import AreaSpec, BundleError, ProbeEntry
from giamsat.aggregator.store.declarations import DeclaredArea
from giamsat.contract.timezone import VIETNAM_TZ
from giamsat.maps.classify import CoverageClass
from giamsat.maps.labels import CLASS_LABELS

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = "DejaVu"
GREY = (90, 90, 90)

VERDICT_LABELS: dict[Verdict, tuple[str, str]] = {
    Verdict.PASS: ("ĐẠT", "PASS"),
    Verdict.FAIL: ("KHÔNG ĐẠT", "FAIL"),
    Verdict.AT_RISK: ("CÓ NGUY CƠ KHÔNG ĐẠT", "AT RISK"),
    Verdict.INSUFFICIENT_DATA: ("CHƯA ĐỦ DỮ LIỆU", "INSUFFICIENT DATA"),
}
GRADE_LABELS: dict[str, tuple[str, str]] = {
    EVIDENCE: ("đủ điều kiện làm bằng chứng", "evidence grade"),
    "early_warning": ("cảnh báo sớm", "early warning"),
}
_SYMBOL = {">=": "≥", "<=": "≤"}
UNCONFIRMED_LABEL = "chưa xác nhận / unconfirmed"


class _Then(TypedDict):
    """Where ``cell``/``multi_cell`` leave the cursor."""

    new_x: XPos
    new_y: YPos


_NEXT_LINE: _Then = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
_FILL: dict[CoverageClass, tuple[int, int, int]] = {
    CoverageClass.COVERED: (44, 160, 44),
    CoverageClass.WEAK: (255, 176, 0),
    CoverageClass.DEAD: (214, 39, 40),
    CoverageClass.INSUFFICIENT: (189, 189, 189),
    CoverageClass.UNMEASURED: (230, 230, 230),
}


@dataclass(frozen=True)
class ReportFacts:
    """Everything the report states; all of it is also in the bundle's other files."""

    assessment: Assessment
    standard: Standard
    operator: Operator
    area: AreaSpec
    probes: Sequence[ProbeEntry]
    records: int
    first_record: datetime | None
    last_record: datetime | None
    cells_measured: int
    records_sha256: str
    signer_fingerprint: str
    created: datetime
    map_png: Path | None
    hexes: Sequence[tuple[str, CoverageClass]]
    declared: Sequence[DeclaredArea] = ()
    gaps: Sequence[DeclaredGap] = ()
    protocol: Mapping[str, Any] | None = None  # protocol.json


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if unit in ("%", "dBm", "ms") else f"{value:,.2f}"


def _limit(v: KpiVerdict) -> str:
    return f"{_SYMBOL[v.comparator]} {v.limit:g} {v.unit}"


def _marked(text: str, v: KpiVerdict) -> str:
    """``text`` with the unconfirmed mark below it when ``v``'s KPI is not confirmed."""
    return f"{text}\n({UNCONFIRMED_LABEL})" if v.unconfirmed else text


def _version(a: Assessment) -> str:
    if a.version is None:
        return "-"
    since = "" if a.version_from is None else f" (từ / from {_vi_date(a.version_from)})"
    return f"{a.version}{since}"


def _unconfirmed_notes(w: _Writer, kpis: Sequence[KpiVerdict]) -> None:
    for k in kpis:
        if k.unconfirmed:
            w.para(
                f"Chưa xác nhận ({k.kpi_id}): định nghĩa, ngưỡng hoặc mức quy định của chỉ tiêu"
                f" này chưa được đối chiếu với văn bản chính thức của quy chuẩn: {k.unconfirmed}.",
                f"Unconfirmed ({k.kpi_id}): this KPI's definition, threshold or limit has not been"
                f" checked against the official text of the standard: {k.unconfirmed}.",
            )


def _when(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M:%S") + " (UTC+7)"


def _vi_date(day: object) -> str:
    text = str(day)
    return f"{text[8:10]}/{text[5:7]}/{text[0:4]}"


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"giamsat · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)


class _Writer:
    """Bilingual paragraphs, headings and tables on top of fpdf2."""

    def __init__(self, facts: ReportFacts) -> None:
        self.facts = facts
        pdf = _Pdf(format="A4")
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=16)
        for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
            path = FONT_DIR / name
            if not path.exists():
                raise BundleError(
                    f"font {path} is missing: install it with"
                    " `apt-get install -y fonts-dejavu-core`"
                )
            pdf.add_font(FONT, style, str(path))
        pdf.set_font(FONT, size=9)
        pdf.set_lang("vi")
        pdf.set_creation_date(facts.created)
        pdf.set_creator("giamsat")
        a = facts.assessment
        pdf.set_title(_nfc(f"{a.standard_id} - {a.operator} - {a.area}"))
        pdf.set_subject("Bằng chứng giám sát chất lượng dịch vụ / Quality monitoring evidence")
        self.pdf = pdf

    def heading(self, vi: str, en: str) -> None:
        pdf = self.pdf
        pdf.ln(3)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(0, 6, _nfc(f"{vi} / {en}"), **_NEXT_LINE)
        pdf.set_font(FONT, size=9)
        pdf.ln(1)

    def para(self, vi: str, en: str | None = None) -> None:
        pdf = self.pdf
        pdf.multi_cell(0, 4.5, _nfc(vi), **_NEXT_LINE)
        if en:
            pdf.set_text_color(*GREY)
            pdf.multi_cell(0, 4.5, _nfc(en), **_NEXT_LINE)
            pdf.set_text_color(0, 0, 0)
        pdf.ln(1.5)

    def table(self, rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
        with self.pdf.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=4.2,
            headings_style=heading,
            padding=1,
        ) as table:
            for row in rows:
                out = table.row()
                for value in row:
                    out.cell(_nfc(value))
        self.pdf.ln(2)


def _summary(w: _Writer) -> None:
    f = w.facts
    a = f.assessment
    overall = overall_verdict(k.verdict for k in a.kpis)
    vi, en = VERDICT_LABELS[overall]
    pdf = w.pdf
    pdf.set_font(FONT, size=8)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 4, "giamsat - giám sát chất lượng mạng di động / mobile network quality monitoring")
    pdf.ln(7)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 7, "BÁO CÁO BẰNG CHỨNG ĐO KIỂM CHẤT LƯỢNG DỊCH VỤ", align="C", **_NEXT_LINE)
    pdf.set_font(FONT, size=11)
    pdf.multi_cell(
        0, 6, "Evidence report on mobile service quality measurements", align="C", **_NEXT_LINE
    )
    pdf.ln(3)
    pdf.set_font(FONT, size=9)
    op = f.operator
    w.table(
        [
            ("Mục / Item", "Nội dung / Details"),
            ("Nhà mạng / Operator", f"{op.name} - {op.legal_name_vi} / {op.legal_name_en}"),
            ("Quy chuẩn / Standard", f"{a.standard_id}\n{a.title_vi}\n{a.title_en}"),
            ("Phiên bản / Version", _version(a)),
            ("Công nghệ / Technology", f"{a.technology} ({', '.join(f.standard.record_techs)})"),
            ("Khu vực / Area", f"{f.area.name} ({f.area.id})"),
            (
                "Thời gian / Period",
                f"{_vi_date(a.period_start)} - {_vi_date(a.period_end)}"
                f" ({a.period_start} .. {a.period_end}, UTC+7)",
            ),
            ("Bản ghi đo / Records", f"{f.records:,} ({len(f.probes)} đầu đo / probes)"),
            ("Kết luận chung / Overall verdict", f"{vi} / {en} ({overall.value})"),
            ("Lập lúc / Built", _when(f.created)),
        ],
        (0.3, 0.7),
    )
    failing = [k for k in a.kpis if k.verdict is Verdict.FAIL]
    if failing:
        w.para(
            "Chỉ tiêu không đạt: "
            + "; ".join(f"{k.name_vi} ({_num(k.value, k.unit)} {k.unit})" for k in failing)
            + ". Toàn bộ khoảng tin cậy 95 % nằm ở phía không đạt của mức quy định.",
            "KPIs that fail: "
            + "; ".join(f"{k.name_en} ({_num(k.value, k.unit)} {k.unit})" for k in failing)
            + ". The whole 95 % confidence interval lies on the failing side of the limit.",
        )


def _measured(w: _Writer) -> None:
    f = w.facts
    s = f.standard
    w.heading("1. Nội dung đo", "What was measured")
    w.para(f"Căn cứ: {s.citation_vi}.", f"Basis: {s.citation_en}.")
    a = f.assessment
    w.para(
        f"Phiên bản quy chuẩn áp dụng cho toàn bộ thời gian giám sát: {_version(a)}.",
        f"Version of the standard in force for the whole monitoring period: {_version(a)}.",
    )
    rows = [("Chỉ tiêu / KPI", "Tên / Name", "Mức quy định / Limit")]
    for k in a.kpis:
        rows.append((k.kpi_id, f"{k.name_vi}\n{k.name_en}", _marked(_limit(k), k)))
    w.table(rows, (0.18, 0.6, 0.22))
    _unconfirmed_notes(w, a.kpis)
    rules = s.sampling
    envs = ", ".join(f"{env} ≥ {n}" for env, n in rules.per_env.items()) or "-"
    w.para(
        f"Yêu cầu lấy mẫu của quy chuẩn: ít nhất {rules.min_samples} mẫu; theo môi trường đo:"
        f" {envs}; các mẫu của cùng một thiết bị cách nhau ít nhất {rules.min_spacing_s:g} giây.",
        f"The standard's sampling rules: at least {rules.min_samples} samples; per environment:"
        f" {envs}; samples of one device at least {rules.min_spacing_s:g} s apart.",
    )
    in_force = s.for_period(a.period_start, a.period_end)
    for kpi in in_force.kpis:
        own = kpi.sampling
        if own is None:
            continue
        own_envs = ", ".join(f"{env} ≥ {n}" for env, n in own.per_env.items()) or "-"
        spread_vi = spread_en = ""
        if own.hours is not None:
            which = ", ".join(own.hours.envs) or "mọi môi trường / all environments"
            limits = []
            if own.hours.max_share_pct is not None:
                limits.append(f"≤ {own.hours.max_share_pct:g} % / giờ (hour)")
            if own.hours.min_hours is not None:
                limits.append(f"≥ {own.hours.min_hours} giờ (hours)")
            spread_vi = f"; phân bố theo giờ trong ngày ({which}): {', '.join(limits)}"
            spread_en = f"; spread over the hours of the day ({which}): {', '.join(limits)}"
        w.para(
            f"Yêu cầu lấy mẫu riêng của chỉ tiêu {kpi.id}: ít nhất {own.min_samples} mẫu;"
            f" theo môi trường đo: {own_envs}; cách nhau ít nhất {own.min_spacing_s:g} giây"
            f"{spread_vi}.",
            f"KPI {kpi.id} has its own sampling rules: at least {own.min_samples} samples;"
            f" per environment: {own_envs}; at least {own.min_spacing_s:g} s apart{spread_en}.",
        )


def _draw_hexes(w: _Writer, hexes: Sequence[tuple[str, CoverageClass]]) -> None:
    """The classified cells drawn directly, when no browser picture could be taken."""
    pdf = w.pdf
    rings = [(h3.cell_to_boundary(cell), cls) for cell, cls in hexes]
    lats = [lat for ring, _ in rings for lat, _ in ring]
    lons = [lon for ring, _ in rings for _, lon in ring]
    box_w, box_h = pdf.epw, 110.0
    if pdf.get_y() + box_h + 12 > pdf.h - pdf.b_margin:
        pdf.add_page()
    top, left = pdf.get_y(), pdf.l_margin
    x_scale = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * x_scale, 1e-9)
    span_y = max(max(lats) - min(lats), 1e-9)
    scale = min(box_w / span_x, box_h / span_y)
    left += (box_w - span_x * scale) / 2
    pdf.set_draw_color(80, 80, 80)
    pdf.set_line_width(0.1)
    for ring, cls in rings:
        pdf.set_fill_color(*_FILL[cls])
        points = [
            (left + (lon - min(lons)) * x_scale * scale, top + (max(lats) - lat) * scale)
            for lat, lon in ring
        ]
        pdf.polygon(points, style="DF")
    pdf.set_y(top + span_y * scale + 3)
    for cls in sorted({cls for _, cls in hexes}, key=list(CoverageClass).index):
        pdf.set_fill_color(*_FILL[cls])
        pdf.rect(pdf.l_margin, pdf.get_y() + 0.8, 4, 3, style="DF")
        pdf.set_x(pdf.l_margin + 6)
        pdf.cell(0, 4.5, _nfc(str(CLASS_LABELS[cls])), **_NEXT_LINE)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.ln(2)


def _where(w: _Writer) -> None:
    f = w.facts
    w.heading("2. Địa điểm", "Where")
    if f.area.cells is None:
        scope_vi, scope_en = "toàn bộ các địa điểm đo", "every measured place"
    else:
        scope_vi = f"{len(f.area.cells):,} ô lục giác H3 (độ phân giải 8, khoảng 0,74 km² mỗi ô)"
        scope_en = f"{len(f.area.cells):,} H3 hexagons (resolution 8, about 0.74 km² each)"
    w.para(
        f"Khu vực {f.area.name} ({f.area.id}): {scope_vi}; có số liệu đo tại {f.cells_measured}"
        " ô. Bản đồ vùng phủ sóng (tệp map.html) vẽ từ chính các bản ghi trong bộ bằng chứng.",
        f"Area {f.area.name} ({f.area.id}): {scope_en}; measurements in {f.cells_measured}"
        " cells. The coverage map (map.html) is drawn from this bundle's own records.",
    )
    _declared(w)
    if f.map_png is not None:
        pdf = w.pdf
        height = pdf.epw * 2 / 3
        if pdf.get_y() + height > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.image(str(f.map_png), w=pdf.epw)
        pdf.ln(2)
    elif f.hexes:
        _draw_hexes(w, f.hexes)


def _declared(w: _Writer) -> None:
    """Which samples were judged: those inside the operator's declared service area."""
    f = w.facts
    scope = f.assessment.scope
    if scope is None:
        return
    operator, technology = f.operator.name, f.standard.technology
    w.para(
        "Vùng phục vụ đã công bố (Phụ lục B): " + scope.describe_vi(operator, technology),
        "Declared service area (Annex B): " + scope.describe(operator, technology),
    )
    if not f.declared:
        return
    rows: list[tuple[str, ...]] = [
        ("SHA-256", "Tệp / File", "Hiệu lực / In force", "Ô trong khu vực / Cells in area")
    ]
    for d in f.declared:
        until = "nay / now" if d.valid_to is None else d.valid_to.isoformat()
        rows.append(
            (d.sha256, d.file_name, f"{d.valid_from.isoformat()} - {until}", f"{len(d.cells):,}")
        )
    w.table(rows, (0.5, 0.2, 0.17, 0.13))
    _gaps(w)


# Gaps listed in the PDF; gaps.json holds them all.
MAX_GAPS_LISTED = 25


def _gaps(w: _Writer) -> None:
    """Declared covered, measured dead: the hexagons to hand the operator."""
    gaps = w.facts.gaps
    w.para(
        f"Khai báo phủ sóng, đo được lõm sóng: {len(gaps)} ô lục giác trong vùng phục vụ đã"
        " công bố được phân loại là lõm sóng theo chính quy tắc của bản đồ (danh sách đầy đủ:"
        f" {layout.GAPS}).",
        f"Declared covered, measured dead: {len(gaps)} hexagons inside the declared service"
        f" area class as dead by the map's own rules (full list: {layout.GAPS}).",
    )
    if not gaps:
        return
    rows = [("Ô H3 / H3 cell", "Vùng / Zone", "Mẫu / Samples", "Mất sóng / No service",
             "RSRP trung vị / Median RSRP")]  # fmt: skip
    for gap in gaps[:MAX_GAPS_LISTED]:
        s = gap.stats
        rsrp = "-" if s.rsrp_median_dbm is None else f"{s.rsrp_median_dbm:.0f} dBm"
        rows.append((f"{s.h3} ({s.tech})", gap.zone, f"{s.n:,} / {s.days} d",
                     f"{100 * s.n_no_service / s.n:.0f} %", rsrp))  # fmt: skip
    w.table(rows, (0.3, 0.25, 0.15, 0.15, 0.15))
    if len(gaps) > MAX_GAPS_LISTED:
        more = len(gaps) - MAX_GAPS_LISTED
        w.para(
            f"... và {more} ô khác trong {layout.GAPS}.", f"... and {more} more in {layout.GAPS}."
        )


def _when_section(w: _Writer) -> None:
    f = w.facts
    a = f.assessment
    w.heading("3. Thời gian", "When")
    w.para(
        f"Thời gian giám sát từ ngày {_vi_date(a.period_start)} đến ngày"
        f" {_vi_date(a.period_end)} theo giờ Việt Nam (UTC+7). Bản ghi đầu tiên:"
        f" {_when(f.first_record)}; bản ghi cuối cùng: {_when(f.last_record)}.",
        f"Monitoring period {a.period_start} to {a.period_end}, Vietnam time (UTC+7)."
        f" First record: {_when(f.first_record)}; last record: {_when(f.last_record)}.",
    )


def _protocol(w: _Writer) -> None:
    """How the samples were taken: what protocol.json says, in words and tables."""
    p = w.facts.protocol
    if not p:
        return
    total = max(1, int(p["records"]))
    w.heading("4. Điều kiện đo", "Measurement protocol")
    w.para(
        "Môi trường đo và loại đầu đo (số bản ghi):",
        "Measurement environment and kind of probe (records):",
    )
    rows = [("Môi trường / Environment", "Bản ghi / Records", "%")]
    rows += [(env, f"{n:,}", f"{100 * n / total:.1f}") for env, n in p["environments"].items()]
    rows += [(f"đầu đo / probe: {kind}", f"{n:,}", f"{100 * n / total:.1f}")
             for kind, n in p["probe_kinds"].items()]  # fmt: skip
    w.table(rows, (0.5, 0.25, 0.25))
    sources: list[tuple[str, ...]] = [("Nguồn vị trí / Location source", "Bản ghi / Records",
             "Sai số trung vị / Median accuracy", "Lớn nhất / Largest")]  # fmt: skip
    for source, s in p["location_sources"].items():
        median, largest = s["accuracy_m_median"], s["accuracy_m_max"]
        sources.append((source, f"{s['records']:,}", "-" if median is None else f"{median:g} m",
                        "-" if largest is None else f"{largest:g} m"))  # fmt: skip
    w.table(sources, (0.3, 0.2, 0.3, 0.2))
    equipment = p["equipment"]
    listed = "; ".join(
        f"{field}: " + ", ".join(f"{v} ({n:,})" for v, n in values.items())
        for field, values in equipment.items()
        if field != "records_without" and values
    )
    w.para(
        f"Thiết bị, modem, firmware, phiên bản phần mềm: {listed or 'bản ghi không ghi nhận'}"
        f" ({equipment['records_without']:,} bản ghi không ghi nhận).",
        f"Device, modem, firmware, agent version: {listed or 'not stated by the records'}"
        f" ({equipment['records_without']:,} records state none).",
    )
    busiest = p["busiest_hour"]
    if busiest is not None:
        w.para(
            f"Phân bố: {len(p['days'])} ngày có mẫu, {p['hours_with_samples']} khung giờ trong ngày"
            f" có mẫu; khung giờ nhiều nhất {busiest:02d}:00 chiếm {p['busiest_hour_share_pct']} %"
            " số mẫu. Số mẫu theo giờ (0–23): " + ", ".join(str(n) for n in p["hours"]) + ".",
            f"Spread: samples on {len(p['days'])} days and in {p['hours_with_samples']} hours of"
            f" the day; the busiest hour, {busiest:02d}:00, holds {p['busiest_hour_share_pct']} %"
            " of them. Samples per hour (0–23): " + ", ".join(str(n) for n in p["hours"]) + ".",
        )
    excluded = p["excluded"]
    close = "; ".join(f"{k}: {n:,}" for k, n in excluded["closer_than_spacing"].items())
    w.para(
        f"Mẫu không tính: {excluded['outside_declared_area']:,} mẫu ngoài vùng phục vụ đã công"
        f" bố; mẫu đo quá gần mẫu trước của cùng thiết bị: {close or 'không có'}; không áp dụng"
        " ngưỡng sai số vị trí.",
        f"Samples not counted: {excluded['outside_declared_area']:,} outside the declared"
        f" service area; samples closer than the minimum spacing to the same device's previous"
        f" one: {close or 'none'}; no location accuracy gate applied.",
    )
    version = p["standard"]["version"] or "-"
    w.para(
        f"Quy chuẩn {p['standard']['id']}, phiên bản {version}; vùng phục vụ đã công bố"
        f" (SHA-256): {', '.join(p['declarations']) or 'không có'}.",
        f"Standard {p['standard']['id']}, version {version}; declared service areas"
        f" (SHA-256): {', '.join(p['declarations']) or 'none'}.",
    )


def _probes(w: _Writer) -> None:
    f = w.facts
    w.heading("5. Thiết bị đo", "Probes")
    w.para(
        "Mỗi đầu đo tự tạo khóa Ed25519 riêng và ký từng bản ghi; khóa công khai được đăng ký"
        " với hệ thống trước khi bản ghi được chấp nhận. Dấu vân tay là SHA-256 của khóa"
        " công khai.",
        "Each probe creates its own Ed25519 key and signs every record; the public key is"
        " registered before its records are accepted. The fingerprint is the SHA-256 of the key.",
    )
    rows = [("Đầu đo / Probe", "Loại / Kind", "Thôn, bản / Village", "Bản ghi / Records",
             "Đăng ký / Registered", "Dấu vân tay khóa / Key fingerprint")]  # fmt: skip
    for p in f.probes:
        rows.append(
            (
                p.id,
                p.kind,
                p.village or "-",
                f"{p.records:,}",
                p.registered_at[:10],
                fingerprint(p.pubkey)[:19] + "…",
            )
        )
    w.table(rows, (0.2, 0.09, 0.2, 0.11, 0.15, 0.25))


def _results(w: _Writer) -> None:
    f = w.facts
    a = f.assessment
    w.heading("6. Kết quả", "Result")
    w.para(
        "Quy tắc kết luận: KHÔNG ĐẠT chỉ khi toàn bộ khoảng tin cậy 95 % nằm ở phía không đạt"
        " của mức quy định; CÓ NGUY CƠ KHÔNG ĐẠT khi giá trị đo không đạt nhưng khoảng tin cậy"
        " còn chạm mức quy định; CHƯA ĐỦ DỮ LIỆU khi số mẫu dưới mức tối thiểu. Khoảng tin cậy"
        " tính theo ngày-thiết bị đo (bootstrap cho giá trị trung bình, Wilson cho tỷ lệ),"
        f" {a.resamples} lần lặp, hạt giống {a.seed}.",
        "Rule: FAIL only when the whole 95 % confidence interval lies on the failing side of"
        " the limit; AT RISK when the estimate fails but the interval reaches the limit;"
        " INSUFFICIENT DATA below the minimum sample counts. Intervals are over probe-days"
        f" (bootstrap for means, Wilson for shares), {a.resamples} resamples, seed {a.seed}.",
    )
    rows = [("Chỉ tiêu / KPI", "Mức / Limit", "Giá trị / Value", "KTC 95 % / 95 % CI",
             "Mẫu / Samples", "Kết luận / Verdict", "Bằng chứng / Grade")]  # fmt: skip
    for k in a.kpis:
        ci = "-" if k.ci_low is None else f"{_num(k.ci_low, k.unit)} - {_num(k.ci_high, k.unit)}"
        vi = VERDICT_LABELS[k.verdict][0]
        grade_vi, grade_en = GRADE_LABELS.get(k.grade, (k.grade, k.grade))
        rows.append(
            (
                f"{k.name_vi}\n{k.name_en}",
                _limit(k),
                f"{_num(k.value, k.unit)} {k.unit}",
                ci,
                f"{k.samples:,}\n{k.probe_days} ngày-thiết bị / probe-days",
                _marked(f"{vi}\n{k.verdict.value}", k),
                f"{grade_vi}\n{grade_en}",
            )
        )
    w.table(rows, (0.24, 0.1, 0.12, 0.13, 0.15, 0.13, 0.13))
    marked = [k.kpi_id for k in a.kpis if k.unconfirmed]
    if marked:
        w.para(
            f"Kết luận của {', '.join(marked)} dựa trên ngưỡng hoặc mức quy định chưa được xác"
            " nhận theo văn bản chính thức (xem mục 1).",
            f"The verdicts of {', '.join(marked)} rest on a threshold or limit not confirmed"
            " from the official text (see section 1).",
        )
    # KPIs computed from the same samples usually miss the same rules: say it once for them.
    notes: dict[tuple[str, ...], list[str]] = {}
    for k in a.kpis:
        if k.unmet or k.insufficient:
            notes.setdefault(k.insufficient + k.unmet, []).append(k.kpi_id)
    for rules, kpi_ids in notes.items():
        names = ", ".join(kpi_ids)
        w.para(
            f"Yêu cầu chưa đáp ứng ({names}): " + "; ".join(rules),
            f"Rules not met ({names}): " + "; ".join(rules),
        )


def _verification(w: _Writer) -> None:
    f = w.facts
    w.heading("7. Cách kiểm tra", "How to verify")
    w.para(
        "Bộ bằng chứng tự kiểm tra được mà không cần tin vào cơ sở dữ liệu của hệ thống:"
        " chạy lệnh `giamsat evidence verify <tệp>.zip --trust <tệp tin cậy>` (không cần mạng,"
        " không cần cơ sở dữ liệu), với tệp khóa tin cậy do cơ quan quản lý công bố. Lệnh kiểm"
        " tra chữ ký của manifest.json bằng một khóa được tin cậy vào ngày lập bộ, mã SHA-256"
        " của từng tệp, chữ ký của từng bản ghi bằng khóa đầu đo trong probes.json, và tính"
        " lại kết luận từ records.jsonl; tệp README.txt mô tả cách kiểm tra thủ công.",
        "The bundle can be checked without trusting the system's database: run"
        " `giamsat evidence verify <file>.zip --trust <trust file>` (no network, no database)"
        " with the trust file the regulator publishes. It checks the signature of"
        " manifest.json by a key trusted on the day the bundle was built, the SHA-256 of every"
        " file, every record's signature by its probe's key in probes.json, and recomputes"
        " the verdict from records.jsonl; README.txt describes the same checks done by hand.",
    )
    w.table(
        [
            ("Mục / Item", "Giá trị / Value"),
            ("Khóa của hệ thống / Aggregator key fingerprint", f.signer_fingerprint),
            (f"SHA-256 của {layout.RECORDS}", f.records_sha256),
        ],
        (0.3, 0.7),
    )
    w.para(
        "Đối chiếu dấu vân tay khóa của hệ thống với dấu vân tay do cơ quan quản lý công bố.",
        "Compare the aggregator key fingerprint with the one the regulator publishes.",
    )


def render_report(facts: ReportFacts) -> bytes:
    """The PDF as bytes."""
    w = _Writer(facts)
    w.pdf.add_page()
    _summary(w)
    _measured(w)
    _where(w)
    _when_section(w)
    _protocol(w)
    _probes(w)
    _results(w)
    _verification(w)
    return bytes(w.pdf.output())
