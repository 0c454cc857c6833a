"""README.txt: what the bundle is and how to verify it, by program or by hand.

Written for a third party who has only the ZIP: the operator's engineers, an
auditor, a court's expert. The manual steps are the same checks
``giamsat evidence verify`` makes, so someone can re-implement them in any
language without reading giamsat's code.
"""

from __future__ import annotations

from collections.abc import Sequence

from giamsat.aggregator.evidence import layout
from giamsat.aggregator.evidence.records import CaseSpec

TEMPLATE = """\
BỘ BẰNG CHỨNG GIÁM SÁT CHẤT LƯỢNG DỊCH VỤ DI ĐỘNG - giamsat
Mobile service quality evidence bundle - giamsat
================================================================

Nhà mạng / Operator:    {operator}
Quy chuẩn / Standard:   {standard}
Khu vực / Area:         {area_name} ({area_id})
Thời gian / Period:     {start} .. {end} (giờ Việt Nam / Vietnam time, UTC+7)
Số bản ghi / Records:   {records}
Lập lúc / Built (UTC):  {created}
Khóa đã ký gói này / Key that signed this bundle (SHA-256 fingerprint):
    {fingerprint}
    (so với khóa cơ quan quản lý công bố / compare with the keys the regulator publishes)

Các tệp / Files
---------------
{files}

Kiểm tra bằng chương trình / Verify with the program
----------------------------------------------------
    giamsat evidence verify {bundle} --trust TRUST-FILE

TRUST-FILE là tệp khóa tin cậy do cơ quan quản lý công bố (hoặc dùng --key với
dấu vân tay khóa do cơ quan quản lý công bố), không bao giờ lấy từ gói này: ai
cũng có thể ký lại một gói bằng khóa của mình, và tệp này khi đó sẽ in khóa đó.
TRUST-FILE is the trust file the regulator publishes (or use --key with the key
fingerprint the regulator publishes), never anything taken from this bundle:
anyone can re-sign a bundle with a key of his own, and this file would then
print that key.

Không cần mạng, không cần cơ sở dữ liệu. Không có lệnh giamsat đầy đủ thì chỉ cần
mã nguồn giamsat (các gói agent, aggregator) cùng cryptography, numpy và h3:
No network and no database are needed. Without the full giamsat command, the
giamsat source (packages agent, aggregator) with cryptography, numpy and h3 is enough:
    python -m giamsat.aggregator.evidence.verify {bundle} --trust TRUST-FILE
Exit status 0 (VERIFIED): every check passed and the signing key is trusted;
3: intact, but not signed by a key trusted on the day it was built;
1: a check failed, each failure named; 2: the bundle or trust file is unusable.

Kiểm tra thủ công / Verify by hand
----------------------------------
1. manifest.sig is base64 of an Ed25519 signature over the exact bytes of
   manifest.json, made by the public key in manifest.json "signer.public_key"
   (base64, 32 bytes). Its fingerprint is SHA-256 of those 32 bytes; compare it
   with the fingerprint the regulator publishes.
2. For every file in manifest.json "files": its SHA-256 and size must match.
   The ZIP must hold no other file besides manifest.json and manifest.sig.
3. records.jsonl holds one record per line, exactly as the probe sent it. For each
   record: take the JSON object without its "sig_ed25519" member and serialise it
   with sorted keys, no whitespace, UTF-8 (Python: json.dumps(obj, sort_keys=True,
   separators=(",", ":"), ensure_ascii=False)); "sig_ed25519" is base64 of the
   Ed25519 signature over those bytes by the probe's "pubkey" in probes.json.
4. Each record belongs to the case: net.op (or net.sim_op when there was no
   service) is the operator; its time "t" falls on a day of the period in UTC+7;
   the H3 cell (resolution 8) of loc.lat/loc.lon is one of area.json "cells"
   (null cells: every place).
5. The declared service area: declarations.json lists the operator's declarations
   for the standard's technology in force during the period, each with its
   validity and its H3 cells in the area, by zone. Where the file is in the
   bundle (declarations/<SHA-256>.geojson or .kml), its SHA-256 is the
   declaration's, and the cells whose centre lies inside its zones are those
   listed. On a day a declaration is in force, only records in its cells count;
   the others are counted apart (verdict.json "scope.outside"). On a day with
   none in force every record counts. A record's Vdmin (QCVN 81 §2.1.5, the
   minimum download speed declared) is its zone's "vdmin" in that declaration.
   gaps.json lists the hexagons inside the declared area that these records class
   dead by the map's rules (map.html); it is signed with the rest but, unlike
   verdict.json, not recomputed by the verifier.
6. The verdict: the giamsat compliance engine (giamsat.aggregator.compliance:
   Sample, store.declarations.apply_vdmin, build_rollups,
   declared.within_declared, evaluate) applied to these records with
   standard.toml, operators.toml, declarations.json and the confidence,
   resamples and seed in verdict.json gives verdict.json again, exactly: every
   number to its last digit, with no tolerance. Its figures do not depend on
   the computer or its number of processors (sums are exact; the bootstrap's
   resamples come from the seed through numpy, so use the numpy version named
   in manifest.json "engine").
"""


def readme_text(
    case: CaseSpec,
    *,
    records: int,
    created: str,
    fingerprint: str,
    files: Sequence[str],
    bundle_name: str = "bundle.zip",
) -> str:
    descriptions = {name: (vi, en) for name, vi, en in layout.FILES}
    for name in files:
        if name.startswith(layout.DECLARATION_FILES):
            descriptions[name] = (
                "tệp công bố vùng phục vụ của nhà mạng, đúng như đã nhập",
                "the operator's declaration file, byte for byte as imported",
            )
    listed = [
        f"{name:<15} {descriptions[name][0]}\n{'':<15} {descriptions[name][1]}" for name in files
    ]
    listed.append(
        f"{layout.MANIFEST:<15} danh sách tệp và mã SHA-256, được hệ thống ký\n"
        f"{'':<15} every file's SHA-256, signed by the aggregator"
    )
    listed.append(
        f"{layout.SIGNATURE:<15} chữ ký Ed25519 của manifest.json\n"
        f"{'':<15} Ed25519 signature of manifest.json"
    )
    return TEMPLATE.format(
        operator=case.operator,
        standard=case.standard_id,
        area_name=case.area.name,
        area_id=case.area.id,
        start=case.period.start,
        end=case.period.end,
        records=f"{records:,}",
        created=created,
        fingerprint=fingerprint,
        files="\n".join(listed),
        bundle=bundle_name,
    )
