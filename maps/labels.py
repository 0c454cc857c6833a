"""Every word a map shows, in Vietnamese first and English second.

Department staff read the Vietnamese; operators' engineers and auditors often
read the English. Keeping all text here (with correct diacritics — "lõm",
not "lom") keeps the two languages in step and out of the rendering code.
"""

from __future__ import annotations

from dataclasses import dataclass

from giamsat.maps.classify import CoverageClass
from giamsat.maps.stats import ProbeStatus


@dataclass(frozen=True, slots=True)
class Label:
    vi: str
    en: str

    def __str__(self) -> str:
        return f"{self.vi} / {self.en}"


CLASS_LABELS: dict[CoverageClass, Label] = {
    CoverageClass.COVERED: Label("Có sóng", "Covered"),
    CoverageClass.WEAK: Label("Sóng yếu", "Weak signal"),
    CoverageClass.DEAD: Label("Vùng lõm sóng", "Dead zone"),
    CoverageClass.INSUFFICIENT: Label("Chưa đủ dữ liệu", "Too little data"),
    CoverageClass.UNMEASURED: Label("Chưa đo", "Not measured"),
}

PROBE_STATUS_LABELS: dict[ProbeStatus, Label] = {
    ProbeStatus.OK: Label("Đang hoạt động", "Reporting"),
    ProbeStatus.SILENT: Label("Mất liên lạc", "Silent"),
}

TITLE = Label("Vùng phủ sóng di động", "Mobile coverage")
CLASS = Label("Phân loại", "Class")
SAMPLES = Label("Số mẫu", "Samples")
MEDIAN_RSRP = Label("RSRP trung vị", "Median RSRP")
MEDIAN_DOWNLOAD = Label("Tốc độ tải xuống trung vị", "Median download")
NO_SERVICE_SHARE = Label("Tỷ lệ mất sóng", "No-service share")
DAYS = Label("Số ngày đo", "Days measured")
PERIOD = Label("Thời gian", "Period")
NOT_AVAILABLE = Label("không có", "n/a")
PROBES = Label("Đầu đo", "Probes")
VILLAGES = Label("Thôn, bản", "Villages")
VILLAGE = Label("Thôn/bản", "Village")
STATUS = Label("Trạng thái", "Status")
LAST_SEEN = Label("Lần cuối", "Last seen")
NEVER_SEEN = Label("Chưa từng báo cáo", "Never reported")
THRESHOLDS = Label("Ngưỡng", "Thresholds")
MIN_EVIDENCE = Label("Tối thiểu để kết luận", "Minimum to decide")
RESOLUTION = Label("Độ phân giải H3", "H3 resolution")
SAMPLES_UNIT = Label("mẫu", "samples")
DAYS_UNIT = Label("ngày", "days")
