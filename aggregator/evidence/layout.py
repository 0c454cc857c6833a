"""What an evidence bundle holds: file names, and what each file is for.

A bundle is a ZIP of these files (``map.png`` only when headless Chromium
could draw it). ``manifest.json`` lists every other file with its SHA-256 and
size; ``manifest.sig`` is the aggregator's Ed25519 signature over the exact
bytes of ``manifest.json``. A file in the ZIP that the manifest does not list
is itself a failure: nothing unsigned may ride along with evidence.
"""

from __future__ import annotations

FORMAT = "giamsat-evidence/3"
# Bundles of format 1 (before declared service areas) still verify: they judged
# every record, their verdict.json lacks the fields added since, and they have
# no declarations.json or gaps.json. Format 2 bundles lack protocol.json.
FORMATS = ("giamsat-evidence/1", "giamsat-evidence/2", FORMAT)

RECORDS = "records.jsonl"
RECORDS_CSV = "records.csv"
PROBES = "probes.json"
STANDARD = "standard.toml"
OPERATORS = "operators.toml"
AREA = "area.json"
VERDICT = "verdict.json"
PROTOCOL = "protocol.json"
DECLARATIONS = "declarations.json"
GAPS = "gaps.json"
# The operator's declaration files as imported: declarations/<SHA-256>.<geojson|kml>.
DECLARATION_FILES = "declarations/"
MAP = "map.html"
MAP_PNG = "map.png"
REPORT = "report.pdf"
README = "README.txt"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"

# (file, Vietnamese description, English description), in ZIP order.
FILES: tuple[tuple[str, str, str], ...] = (
    (README, "hướng dẫn kiểm tra (tệp này)", "how to verify (this file)"),
    (
        RECORDS,
        "bản ghi đo đúng như đầu đo đã ký, mỗi dòng một bản ghi",
        "the records exactly as the probes signed them, one per line",
    ),
    (RECORDS_CSV, "các bản ghi đó dạng bảng tính", "the same records for spreadsheets"),
    (
        PROBES,
        "đầu đo: khóa công khai và thông tin đăng ký",
        "the probes: public keys and registration data",
    ),
    (STANDARD, "quy chuẩn được áp dụng", "the standard applied"),
    (
        OPERATORS,
        "nhà mạng và tốc độ đã công bố (Vd, Vu)",
        "operators and their declared speeds (Vd, Vu)",
    ),
    (AREA, "khu vực: các ô H3", "the area as H3 cells"),
    (
        DECLARATIONS,
        "vùng phục vụ nhà mạng đã công bố: thời hạn và các ô H3",
        "the operator's declared service areas: validity and H3 cells",
    ),
    (
        GAPS,
        "ô khai báo phủ sóng nhưng đo được lõm sóng (theo quy tắc của bản đồ)",
        "hexagons declared covered and measured dead (by the map's rules)",
    ),
    (
        VERDICT,
        "kết luận: chỉ tiêu, khoảng tin cậy, mức độ bằng chứng",
        "the verdict: KPIs, intervals, sampling admissibility",
    ),
    (
        PROTOCOL,
        "điều kiện đo: môi trường, định vị, phân bố theo ngày giờ, mẫu bị loại",
        "how the samples were taken: environment, location, days and hours, exclusions",
    ),
    (MAP, "bản đồ khu vực (mở bằng trình duyệt)", "map of the area (open in a browser)"),
    (MAP_PNG, "ảnh bản đồ", "picture of the map"),
    (REPORT, "báo cáo PDF tiếng Việt và tiếng Anh", "PDF report in Vietnamese and English"),
)
REQUIRED: tuple[str, ...] = tuple(name for name, _, _ in FILES if name != MAP_PNG)
