"""Every word the aggregator's pages show, Vietnamese first and English second.

The map's own words live in :mod:`giamsat.maps.labels`; these are the page chrome,
filters, the compliance table, trends and the probe fleet. One place keeps
the two languages in step and the diacritics right ("lõm sóng", "Đạt").
"""

from __future__ import annotations

from giamsat.maps.labels import Label

APP = Label("Giám sát chất lượng mạng di động", "Mobile network quality monitoring")

NAV_MAP = Label("Bản đồ vùng phủ", "Coverage map")
NAV_COMPLIANCE = Label("Tuân thủ quy chuẩn", "Compliance")
NAV_TRENDS = Label("Xu hướng", "Trends")
NAV_PROBES = Label("Đầu đo", "Probes")
NAV_OPENDATA = Label("Dữ liệu mở", "Open data")
LOGOUT = Label("Đăng xuất", "Log out")

LOGIN = Label("Đăng nhập", "Log in")
TOKEN = Label("Mã truy cập", "Access token")
TOKEN_HELP = Label(
    "Mã do quản trị viên cấp bằng lệnh giamsat tokens add",
    "The token an administrator created with giamsat tokens add",
)
BAD_TOKEN = Label("Mã truy cập không đúng hoặc đã bị thu hồi", "Unknown or revoked token")
SIGNED_IN_AS = Label("Đăng nhập với", "Signed in as")

OPERATOR = Label("Nhà mạng", "Operator")
TECHNOLOGY = Label("Công nghệ", "Technology")
AREA = Label("Khu vực", "Area")
ALL = Label("Tất cả", "All")
ALL_AREAS = Label("Toàn bộ các khu vực", "All areas")
DATE_FROM = Label("Từ ngày", "From")
DATE_TO = Label("Đến ngày", "To")
MONTH_FROM = Label("Từ tháng", "From month")
MONTH_TO = Label("Đến tháng", "To month")
SHOW = Label("Xem", "Show")
PERIOD = Label("Thời gian", "Period")
NO_DATA = Label("Không có dữ liệu trong khoảng thời gian này", "No data in this period")

VERDICTS: dict[str, Label] = {
    "PASS": Label("Đạt", "Pass"),
    "AT_RISK": Label("Có nguy cơ không đạt", "At risk"),
    "FAIL": Label("Không đạt", "Fail"),
    "INSUFFICIENT_DATA": Label("Chưa đủ dữ liệu", "Insufficient data"),
}
GRADES: dict[str, Label] = {
    "evidence": Label("Đủ điều kiện làm bằng chứng", "Evidence grade"),
    "early_warning": Label("Cảnh báo sớm", "Early warning"),
}
STANDARD = Label("Quy chuẩn", "Standard")
KPI = Label("Chỉ tiêu", "KPI")
LIMIT = Label("Mức yêu cầu", "Limit")
VALUE = Label("Giá trị đo", "Measured")
INTERVAL = Label("Khoảng tin cậy", "Confidence interval")
SAMPLES = Label("Số mẫu", "Samples")
PROBE_DAYS = Label("Số ngày-đầu đo", "Probe-days")
VERDICT = Label("Kết luận", "Verdict")
GRADE = Label("Mức bằng chứng", "Grade")
UNMET = Label("Điều kiện lấy mẫu chưa đạt", "Sampling rules not met")
DETAILS = Label("Chi tiết", "Details")
UNCONFIRMED = Label("chưa xác nhận", "unconfirmed")
UNCONFIRMED_NOTE = Label(
    "Ngưỡng hoặc mức quy định chưa được đối chiếu với văn bản chính thức của quy chuẩn",
    "Threshold or limit not yet checked against the official text of the standard",
)
VERSION = Label("Phiên bản quy chuẩn", "Version of the standard")
DECLARED_AREA = Label("Vùng phục vụ đã công bố", "Declared service area")
KPIS_FAILED = Label("chỉ tiêu không đạt", "KPIs failed")
COMPLIANCE_NOTE = Label(
    "Không đạt chỉ khi cả khoảng tin cậy 95 % nằm ngoài mức yêu cầu; "
    "ô tổng hợp lấy kết luận xấu nhất trong các chỉ tiêu.",
    "Fail only when the whole 95 % confidence interval is on the wrong side of the limit; "
    "each cell shows the worst verdict among the KPIs.",
)
JSON_DOWNLOAD = Label("Tải JSON", "Download JSON")

TREND_DL = Label("Tốc độ tải xuống trung bình", "Mean download")
TREND_COVERAGE = Label("Tỷ lệ mẫu có sóng tốt", "Share of samples covered")
TREND_NO_SERVICE = Label("Tỷ lệ mẫu mất sóng", "Share of samples without service")
TREND_LATENCY = Label("Độ trễ trung bình", "Mean latency")
MONTH = Label("Tháng", "Month")
TREND_NOTE = Label(
    "Theo tháng, giờ Việt Nam (UTC+7). Mẫu mất sóng không có công nghệ được tính cho "
    "mọi công nghệ mà nhà mạng có phục vụ trong kỳ.",
    "By month, Vietnam time (UTC+7). No-service samples without a technology count "
    "for every technology the operator served in the period.",
)

PROBE = Label("Đầu đo", "Probe")
KIND = Label("Loại", "Kind")
KINDS: dict[str, Label] = {
    "fixed": Label("Cố định", "Fixed"),
    "phone": Label("Điện thoại", "Phone"),
}
VILLAGE = Label("Thôn/bản", "Village")
LAST_MEASUREMENT = Label("Lần đo cuối", "Last measurement")
RECEIVED = Label("Nhận lúc", "Received")
SPOOL = Label("Bản ghi chờ gửi", "Spool backlog")
SPOOL_REFUSED = Label("Bị từ chối do đầy", "Refused, spool full")
BUDGET = Label("Dung lượng dữ liệu đã dùng", "Data budget used")
STATUS = Label("Trạng thái", "Status")
PROBE_STATES: dict[str, Label] = {
    "ok": Label("Đang hoạt động", "Reporting"),
    "silent": Label("Mất liên lạc", "Silent"),
    "never": Label("Chưa từng báo cáo", "Never reported"),
    "revoked": Label("Đã thu hồi", "Revoked"),
}
FLEET_SUMMARY = Label("đầu đo", "probes")
SILENT_SUMMARY = Label("mất liên lạc", "silent")
SILENT_RULE = Label("Mất liên lạc: không có bản ghi nào trong", "Silent: no record for")
HOURS = Label("giờ", "hours")
HEALTH_NOTE = Label(
    "Hàng đợi và dung lượng lấy từ bản ghi mới nhất của đầu đo; — là đầu đo chưa báo.",
    "Backlog and budget come from the probe's latest record; — means it did not report them.",
)

NAV_CASES = Label("Hồ sơ xử lý", "Cases")
CASE = Label("Hồ sơ", "Case")
CASE_STATE = Label("Bước hiện tại", "Current step")
OPENED = Label("Mở ngày", "Opened")
NEXT_STEP = Label("Bước tiếp theo", "Next step")
FROM_DAY = Label("từ ngày", "from")
ANSWER_WINDOW = Label("Hạn giải trình của nhà mạng", "Operator's answer window")
UNTIL = Label("đến hết ngày", "until")
ANSWERS = Label("Giải trình", "Answers")
NO_CASES = Label("Chưa có hồ sơ nào", "No cases yet")
TIMELINE = Label("Diễn biến", "Timeline")
NOTICE = Label("Thông báo", "Notice")
ANSWER = Label("Giải trình của nhà mạng", "Operator's answer")
LATE = Label("quá hạn", "late")
BUNDLE = Label("Bộ bằng chứng", "Evidence bundle")
DOWNLOAD = Label("Tải về", "Download")
NOT_KEPT = Label("không lưu trên hệ thống", "not kept on the system")
FILES = Label("Tệp kèm theo", "Files")
NOTICE_TEXT = Label("Toàn văn thông báo", "Full text of the notice")
CASE_STATES: dict[str, Label] = {
    "open": Label("Đã mở hồ sơ", "Case opened"),
    "notice_1": Label("Thông báo lần thứ nhất", "First notice"),
    "notice_2": Label("Thông báo lần thứ hai", "Second notice"),
    "sanction_recommended": Label("Đề nghị xử phạt", "Sanction recommended"),
    "closed": Label("Đã đóng", "Closed"),
}
CASES_NOTE = Label(
    "Mỗi bước tiếp theo chỉ thực hiện được khi hết thời gian gia hạn và hết hạn giải trình"
    " của nhà mạng, với kết quả giám sát mới vẫn không đạt.",
    "A next step is possible only once the grace period and the operator's answer window"
    " have passed, and new monitoring still fails.",
)
