"""Evidence bundles built from signed records, verified offline, and tampered with.

No database here: bundles are assembled from records signed in the test
(giamsat.aggregator.evidence.assemble), exactly as the aggregator assembles them from
stored payloads. Each tamper test changes one thing and checks that
verification fails *and names the cause*.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import h3
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.evidence import keys, layout, manifest, trust, verify
from giamsat.aggregator.evidence.assemble import BuildResult
from giamsat.aggregator.evidence.records import AreaSpec, BundleError
from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from giamsat.contract.timezone import VIETNAM_TZ
from tests.support.evidence import (
    QCVN126,
    SLOW_NETWORK,
    Fleet,
    build,
    fleet,
    members,
    report_text,
    resign,
    rewrite,
    signed_record,
)
from tests.support.truth import generate

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def aggregator_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def data() -> Fleet:
    return fleet(SLOW_NETWORK)


@pytest.fixture(scope="module")
def built(tmp_path_factory, data, aggregator_key) -> BuildResult:
    return build(tmp_path_factory.mktemp("bundle") / "bundle.zip", data, aggregator_key)


@pytest.fixture
def bundle(built, tmp_path) -> Path:
    """A private copy of the built bundle, free to tamper with."""
    copy = tmp_path / "bundle.zip"
    shutil.copy(built.path, copy)
    return copy


def run_verify(path: Path, capsys, *extra: str) -> tuple[int, str]:
    """`giamsat evidence verify` as a third party runs it; exit status and output."""
    status = verify.main([str(path), "--quiet", *extra])
    return status, capsys.readouterr().out


def failures(path: Path, **kwargs) -> list[str]:
    result = verify.verify_bundle(path, **kwargs)
    assert not result.ok
    return result.all_problems()


# --- a bundle as built ------------------------------------------------------------------


def test_bundle_holds_every_file_and_verifies(built, bundle, capsys, data, aggregator_key):
    files = members(bundle)
    assert set(layout.REQUIRED) | {layout.MANIFEST, layout.SIGNATURE} == set(files)
    lines = files[layout.RECORDS].splitlines()
    assert lines == [record.encode(r) for r in data.records]  # byte for byte, one per line
    probes = json.loads(files[layout.PROBES])["probes"]
    assert {p["id"]: p["pubkey"] for p in probes} == {
        p: public_key_b64(k) for p, k in data.keys.items()
    }
    assert files[layout.STANDARD] == Path(QCVN126.path).read_bytes()
    content = json.loads(files[layout.MANIFEST])
    assert content["records"] == len(data.records) and content["verdict"] == "FAIL"
    assert content["signer"]["fingerprint"] == keys.fingerprint(public_key_b64(aggregator_key))
    verdict = json.loads(files[layout.VERDICT])
    dl = next(k for k in verdict["kpis"] if k["kpi_id"] == "dl_mean")
    assert dl["verdict"] == "FAIL" and dl["ci_high"] < 100 and dl["grade"] == "early_warning"

    status, out = run_verify(bundle, capsys, "--key", built.fingerprint)
    assert status == 0, out
    assert "VERIFIED" in out
    for check in verify.CHECKS:
        assert any(line.startswith(check) and " ok " in line for line in out.splitlines()), out


def test_csv_is_the_records_for_spreadsheets(bundle, data):
    rows = members(bundle)[layout.RECORDS_CSV].decode().splitlines()
    header, body = rows[0].split(","), rows[1:]
    assert len(body) == len(data.records)
    first = dict(zip(header, body[0].split(","), strict=True))
    assert first["id"] == data.records[0]["id"]
    assert float(first["dl_mbps"]) == data.records[0]["dl"]["mbps"]


def test_verifier_needs_no_database_pdf_map_code_or_network(bundle, built):
    """Run in an empty network namespace with psycopg, fpdf and folium made unimportable."""
    code = (
        "import sys\n"
        "for name in ('psycopg', 'psycopg_pool', 'fpdf', 'folium', 'giamsat.maps'):\n"
        "    sys.modules[name] = None\n"
        "from giamsat.aggregator.evidence.verify import main\n"
        f"sys.exit(main([{str(bundle)!r}, '--key', {built.fingerprint!r}]))\n"
    )
    result = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", code],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERIFIED" in result.stdout
    assert "records: " in result.stderr  # progress lines go to stderr


def test_pdf_names_operator_standard_verdict_in_vietnamese_and_english(bundle, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(members(bundle)[layout.REPORT])
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    for expected in (
        "Viettel",
        "QCVN-126:2021/BTTTT",
        "FAIL",
        "KHÔNG ĐẠT",
        "Nhà mạng / Operator",
        "Tốc độ tải xuống trung bình",
        "Thời gian giám sát",
        "Cách kiểm tra / How to verify",
        "Điều kiện đo / Measurement protocol",
        "holds 100.0 % of them",
        "not stated by the records",
        "Mean download throughput",
        "Có sóng / Covered",  # the map drawn in the PDF when no picture was taken
    ):
        assert expected in text, expected
    assert "\u1ed1" in text  # "ố" precomposed, not "o" + combining marks


def test_dropped_transfers_verify_and_unconfirmed_figures_are_marked(tmp_path, aggregator_key):
    """The new KPIs survive the round trip; the PDF and verdict.json mark what is unconfirmed."""
    drops = fleet(dataclasses.replace(SLOW_NETWORK, dropped=0.2, seed=5))
    assert any((r.get("dl") or {}).get("outcome") == "dropped" for r in drops.records)
    path = build(tmp_path / "drops.zip", drops, aggregator_key).path
    result = verify.verify_bundle(path)
    assert result.ok, result.all_problems()
    files = members(path)
    verdict = json.loads(files[layout.VERDICT])
    assert verdict["version"] == QCVN126.version
    kpis = {k["kpi_id"]: k for k in verdict["kpis"]}
    dropped = kpis["dropped_transfer"]
    assert dropped["samples"] > 0 and dropped["version"] == QCVN126.version
    assert dropped["ci_low"] <= 20.0 <= dropped["ci_high"]
    assert dropped["unconfirmed"] == QCVN126.kpi("dropped_transfer").unconfirmed
    assert kpis["dl_mean"]["unconfirmed"] is None
    flat = report_text(files[layout.REPORT], tmp_path)
    assert "chưa xác nhận / unconfirmed" in flat
    assert "Unconfirmed (dropped_transfer)" in flat and "Unconfirmed (radio_availability)" in flat
    assert "Tỷ lệ truyền tải dữ liệu bị rơi" in flat
    assert f"Phiên bản / Version {QCVN126.version}" in flat


def test_build_refuses_records_that_would_not_verify(tmp_path, data, aggregator_key):
    stranger = Ed25519PrivateKey.generate()
    forged = record.sign({k: v for k, v in data.records[0].items() if k != "sig_ed25519"}, stranger)
    other_op = dict(data.records[1])
    other_op["net"] = {**other_op["net"], "op": "MobiFone"}
    other_op = record.sign(other_op, data.keys[other_op["probe"]])
    tampered = Fleet([forged, other_op, *data.records[2:]], data.keys)
    with pytest.raises(BundleError) as excinfo:
        build(tmp_path / "b.zip", tampered, aggregator_key)
    message = str(excinfo.value)
    assert f"record 1 (id {forged['id']}): signature invalid" in message
    assert "record 2" in message and "operator 'MobiFone' is not 'Viettel'" in message
    assert not (tmp_path / "b.zip").exists()


def test_records_outside_the_area_are_refused(tmp_path, data, aggregator_key):
    one_cell = data.records[0]
    cell = h3.latlng_to_cell(one_cell["loc"]["lat"], one_cell["loc"]["lon"], 8)
    area = AreaSpec(cell, f"H3 {cell}", "cell", frozenset({cell}))
    with pytest.raises(BundleError, match=f"is not in area {cell}"):
        build(tmp_path / "b.zip", data, aggregator_key, area=area)


# --- tampering ----------------------------------------------------------------------------


def _flip_middle_byte(content: bytes) -> bytes:
    i = len(content) // 2
    return content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1 :]


@pytest.mark.parametrize("name", [*layout.REQUIRED, layout.MANIFEST, layout.SIGNATURE])
def test_one_changed_byte_in_any_file_is_named(bundle, capsys, name):
    rewrite(bundle, lambda files: files.__setitem__(name, _flip_middle_byte(files[name])))
    status, out = run_verify(bundle, capsys)
    assert status == 1, out
    assert "FAILED" in out
    if name == layout.MANIFEST:
        named = "manifest.json" in out and "manifest signature  FAILED" in out
    elif name == layout.SIGNATURE:
        named = "manifest.sig" in out
    else:
        named = f"{name}: SHA-256" in out
    assert named, out


def _change_one_speed(files: dict[str, bytes], line: int) -> str:
    lines = files[layout.RECORDS].split(b"\n")
    changed = json.loads(lines[line - 1])
    changed["dl"]["mbps"] = round(changed["dl"]["mbps"] + 50.0, 3)
    lines[line - 1] = record.encode(changed)
    files[layout.RECORDS] = b"\n".join(lines)
    return changed["id"]


def test_changed_speed_in_one_record_is_named(bundle, capsys):
    changed: dict[str, str] = {}
    rewrite(bundle, lambda files: changed.setdefault("id", _change_one_speed(files, 17)))
    status, out = run_verify(bundle, capsys)
    assert status == 1
    assert f"record 17 (id {changed['id']}): signature invalid" in out
    assert "records.jsonl: SHA-256" in out


def test_changed_speed_is_caught_even_with_a_forgers_fresh_manifest(bundle, built, capsys):
    forger = Ed25519PrivateKey.generate()

    def change(files: dict[str, bytes]) -> None:
        _change_one_speed(files, 17)
        resign(files, forger)

    rewrite(bundle, change)
    status, out = run_verify(bundle, capsys, "--key", built.fingerprint)
    assert status == 1
    assert "record 17 (id " in out and "signature invalid" in out
    forged = keys.fingerprint(public_key_b64(forger))
    assert (
        f"and the signer is not trusted: signed by key {forged}, which --key does not list" in out
    )
    # The forger made the hashes consistent; the probe's signature still gives it away.
    assert "does not match the manifest" not in out


def test_removed_record_is_named(bundle, capsys, data):
    def drop(files: dict[str, bytes]) -> None:
        lines = files[layout.RECORDS].splitlines(keepends=True)
        files[layout.RECORDS] = b"".join(lines[:9] + lines[10:])

    rewrite(bundle, drop)
    status, out = run_verify(bundle, capsys)
    assert status == 1
    n = len(data.records)
    assert f"records.jsonl: holds {n - 1} records, the manifest says {n}" in out
    assert f"probes.json: probe {data.records[9]['probe']} has" in out
    assert f"dl_mean.samples is {n}, the records give {n - 1}" in out  # so does the verdict


def test_record_from_an_unregistered_key_is_named(bundle, capsys, data):
    intruder_key = Ed25519PrivateKey.generate()
    samples = generate(SLOW_NETWORK)
    intruder = signed_record(dataclasses.replace(samples[0], probe="intruder"), intruder_key)
    impostor = signed_record(samples[1], intruder_key)  # claims a registered probe's id

    def add(files: dict[str, bytes]) -> None:
        files[layout.RECORDS] += record.encode(intruder) + b"\n" + record.encode(impostor) + b"\n"

    rewrite(bundle, add)
    status, out = run_verify(bundle, capsys)
    assert status == 1
    n = len(data.records)
    assert f"record {n + 1} (id {intruder['id']}): probe intruder not in probes.json" in out
    assert f"record {n + 2} (id {impostor['id']}): signature invalid" in out
    assert "records.jsonl: SHA-256" in out


@pytest.mark.parametrize("how", ["another key", "garbage"])
def test_replaced_manifest_signature_is_named(bundle, capsys, how):
    def replace(files: dict[str, bytes]) -> None:
        if how == "another key":
            files[layout.SIGNATURE] = manifest.sign(
                files[layout.MANIFEST], Ed25519PrivateKey.generate()
            )
        else:
            files[layout.SIGNATURE] = base64.b64encode(os.urandom(64)) + b"\n"

    rewrite(bundle, replace)
    status, out = run_verify(bundle, capsys)
    assert status == 1
    assert "manifest.sig is not a valid signature of manifest.json by the aggregator key" in out
    assert "file hashes         ok" in out  # only the signature was touched, and only it is named


def test_a_verdict_the_records_do_not_support_is_named(bundle, capsys, aggregator_key):
    """Even the aggregator's own key cannot make a FAIL into a PASS: the verdict is recomputed."""

    def soften(files: dict[str, bytes]) -> None:
        verdict = json.loads(files[layout.VERDICT])
        for kpi in verdict["kpis"]:
            kpi["verdict"] = "PASS"
        files[layout.VERDICT] = json.dumps(verdict, ensure_ascii=False, indent=2).encode()
        resign(files, aggregator_key)

    rewrite(bundle, soften)
    status, out = run_verify(bundle, capsys)
    assert status == 1
    assert "verdict.json: dl_mean.verdict is 'PASS', the records give 'FAIL'" in out


def test_extra_file_and_broken_zip_are_named(bundle, capsys, tmp_path):
    rewrite(bundle, lambda files: files.__setitem__("notes.txt", b"trust me"))
    status, out = run_verify(bundle, capsys)
    assert status == 1 and "notes.txt: in the ZIP but not in the manifest" in out

    broken = tmp_path / "broken.zip"
    broken.write_bytes(bundle.read_bytes()[:1000])
    status, out = run_verify(broken, capsys)
    assert status == 1 and "broken.zip: not a readable ZIP file" in out


def test_missing_bundle_and_bad_key_are_usage_errors(tmp_path, bundle, capsys):
    assert verify.main([str(tmp_path / "nothing.zip")]) == 2
    assert verify.main([str(bundle), "--key", "not a key!"]) == 2


# --- whose key: the trust ------------------------------------------------------------------


def _trust_file(path: Path, *entries: dict[str, object], issuer: str = "Cục Viễn thông") -> Path:
    lines = ['format = "giamsat-trust/1"', f'issuer = "{issuer}"']
    for entry in entries:
        lines.append("[[keys]]")
        for name, value in entry.items():
            lines.append(f'{name} = "{value}"' if isinstance(value, str) else f"{name} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_stranger_can_make_an_intact_bundle_but_never_a_verified_one(
    tmp_path, capsys, data, built, aggregator_key
):
    """Records removed, verdict recomputed, everything re-signed by a key of the forger's own."""
    forger = Ed25519PrivateKey.generate()
    fewer = dataclasses.replace(data, records=data.records[:-20])
    forged = build(tmp_path / "forged.zip", fewer, forger)
    assert verify.verify_bundle(forged.path).ok  # every integrity check passes
    readme = members(forged.path)[layout.README].decode()
    assert forged.fingerprint in readme  # the bundle names its key, and that must not count

    status, out = run_verify(forged.path, capsys)
    assert status == 3 and "VERIFIED" not in out
    assert "NOT TRUSTED: every check passed, but no trusted key was given." in out
    assert "the fingerprint the regulator publishes (never one printed in the bundle" in out

    status, out = run_verify(forged.path, capsys, "--key", built.fingerprint)
    assert status == 3 and "VERIFIED" not in out
    assert f"signed by key {forged.fingerprint}, which --key does not list" in out

    regulator = _trust_file(tmp_path / "trust.toml", {"public_key": public_key_b64(aggregator_key)})
    status, out = run_verify(forged.path, capsys, "--trust", str(regulator))
    assert status == 3
    assert (
        f"signed by key {forged.fingerprint}, which the trust file trust.toml does not list" in out
    )
    # The genuine bundle, against the same file.
    status, out = run_verify(built.path, capsys, "--trust", str(regulator))
    assert status == 0
    assert f"VERIFIED: every check passed; signed by aggregator key {built.fingerprint}," \
        " trusted by the trust file trust.toml (Cục Viễn thông)" in out  # fmt: skip


def test_a_key_is_trusted_only_on_the_days_the_trust_file_gives(tmp_path, capsys, data):
    """Rotation: the old key keeps the bundles it signed in its time, and signs no more."""
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    trust_file = _trust_file(
        tmp_path / "trust.toml",
        {"public_key": public_key_b64(old), "valid_from": date(2026, 1, 1),
         "valid_to": date(2026, 10, 31), "label": "2026"},
        {"public_key": public_key_b64(new), "valid_from": date(2026, 11, 1)},
    )  # fmt: skip
    # 31 October, 23:30 in Hanoi is still the old key's last day; 00:30 on 1 November is not.
    last_day = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    too_late = datetime(2026, 10, 31, 17, 30, tzinfo=UTC)
    bundles = {
        "old key, in its time": (build(tmp_path / "a.zip", data, old, created=last_day), 0),
        "old key, after it": (build(tmp_path / "b.zip", data, old, created=too_late), 3),
        "new key": (build(tmp_path / "c.zip", data, new, created=too_late), 0),
        "new key, before it": (build(tmp_path / "d.zip", data, new, created=last_day), 3),
    }
    for name, (bundle, expected) in bundles.items():
        status, out = run_verify(bundle.path, capsys, "--trust", str(trust_file))
        assert status == expected, (name, out)
    _, out = run_verify(bundles["old key, after it"][0].path, capsys, "--trust", str(trust_file))
    assert (
        f"signed by key {keys.fingerprint(public_key_b64(old))} on 2026-11-01, outside its"
        " validity in the trust file trust.toml (2026-01-01..2026-10-31)"
    ) in out
    # --key trusts one key on any day; with --trust too, either may vouch.
    late = bundles["old key, after it"][0].path
    assert run_verify(late, capsys, "--key", public_key_b64(old))[0] == 0
    both = ("--key", public_key_b64(old), "--trust", str(trust_file))
    assert run_verify(late, capsys, *both)[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "trust.toml: not a TOML file"),
        ('format = "other"\n', "trust.toml: format must be 'giamsat-trust/1', not 'other'"),
        ('format = "giamsat-trust/1"\n', "trust.toml: lists no [[keys]]"),
        ('format = "giamsat-trust/1"\n[[keys]]\nlabel = "x"\n',
         "trust.toml: keys[0]: public_key (the base64 Ed25519 public key) is missing"),
        ('format = "giamsat-trust/1"\n[[keys]]\npublic_key = "abc"\n',
         "trust.toml: keys[0]: public_key is not a base64 Ed25519 key"),
        (f'format = "giamsat-trust/1"\n[[keys]]\npublic_key = "{"A" * 43}="\n'
         'valid_from = "soon"\n',
         "trust.toml: keys[0]: valid_from must be a date such as 2026-01-01, not 'soon'"),
    ],
)  # fmt: skip
def test_a_broken_trust_file_is_named_and_nothing_is_verified(
    tmp_path, capsys, built, content, message
):
    bad = tmp_path / "trust.toml"
    bad.write_text(content, encoding="utf-8")
    status = verify.main([str(built.path), "--quiet", "--trust", str(bad)])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert message in captured.err and "Traceback" not in captured.err


def test_evidence_key_writes_the_trust_file_and_rotates(tmp_path, capsys, data):
    from giamsat.aggregator.cli.main import main as giamsat

    key_dir, trust_file = tmp_path / "key", tmp_path / "trust.toml"
    assert giamsat(["evidence", "key", "--key-dir", str(key_dir), "--trust-file",
                    str(trust_file), "--valid-from", "2026-01-01"]) == 0  # fmt: skip
    first = keys.load_or_create(key_dir)
    before = build(tmp_path / "before.zip", data, first, created=datetime(2026, 11, 5, tzinfo=UTC))
    assert giamsat(["evidence", "key", "--rotate", "--key-dir", str(key_dir)]) == 2
    assert "--rotate needs --trust-file" in capsys.readouterr().err
    assert giamsat(["evidence", "key", "--rotate", "--key-dir", str(key_dir),
                    "--trust-file", str(trust_file)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    second = keys.load_or_create(key_dir)
    assert public_key_b64(second) != public_key_b64(first)
    assert f"retired      {keys.fingerprint(public_key_b64(first))}" in out
    assert (key_dir / "retired").is_dir()
    listed = trust.load(trust_file)
    today = datetime.now(VIETNAM_TZ).date()
    assert [(k.fingerprint, k.valid_from, k.valid_to) for k in listed.keys] == [
        (keys.fingerprint(public_key_b64(first)), date(2026, 1, 1), today),
        (keys.fingerprint(public_key_b64(second)), today, None),
    ]
    after = build(tmp_path / "after.zip", data, second)
    for bundle in (before, after):
        assert run_verify(bundle.path, capsys, "--trust", str(trust_file))[0] == 0


# --- the aggregator's key ---------------------------------------------------------------


def test_key_is_created_once_private_and_reused(tmp_path, monkeypatch):
    first = keys.load_or_create(tmp_path / "data")
    path = tmp_path / "data" / keys.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    again = keys.load_or_create(tmp_path / "data")
    assert public_key_b64(again) == public_key_b64(first)
    monkeypatch.setenv(keys.DATA_ENV, str(tmp_path / "env"))
    assert keys.default_key_dir() == tmp_path / "env"
    fp = keys.fingerprint(public_key_b64(first))
    assert len(fp) == 79 and fp.count(":") == 15
    assert manifest.normalise_key(fp.replace(":", "").upper()) == fp
    assert manifest.normalise_key(public_key_b64(first)) == fp


def test_hand_crafted_structure_fails_without_crashing(bundle, capsys):
    def garble(files: dict[str, bytes]) -> None:
        content = json.loads(files[layout.MANIFEST])
        content["files"] = {name: "trust me" for name in content["files"]}
        files[layout.MANIFEST] = json.dumps(content).encode()
        files[layout.STANDARD] = b"\xff\xfe" + files[layout.STANDARD]

    rewrite(bundle, garble)
    status, out = run_verify(bundle, capsys)
    assert status == 1
    assert "malformed bundle (AttributeError" in out
    assert "standard.toml: not readable TOML" in out


# --- the measurement protocol ------------------------------------------------------------


def test_protocol_states_what_the_generated_data_holds(built, data):
    """SLOW_NETWORK: 6 probes, 5 days from 1 October, 20 samples each a day, 2-2.5 min apart
    from local midnight, by GPS to 8 m; probes a third indoors, outdoor fixed, outdoor mobile."""
    from tests.support.truth import _environments

    truth = SLOW_NETWORK
    protocol = json.loads(members(built.path)[layout.PROTOCOL])
    per_day = truth.probes * truth.per_probe_day
    total = per_day * truth.days
    assert protocol["records"] == total == len(data.records)
    assert protocol["days"] == [{"day": f"2026-10-0{d}", "records": per_day} for d in range(1, 6)]
    by_env = dict.fromkeys(_environments(truth), 0)
    for env in _environments(truth):
        by_env[env] += truth.per_probe_day * truth.days
    assert protocol["environments"] == dict(sorted(by_env.items()))
    assert protocol["probe_kinds"] == {"fixed": total}
    assert protocol["location_sources"] == {
        "gps": {"records": total, "accuracy_m_median": 8, "accuracy_m_max": 8,
                "without_accuracy": 0},
    }  # fmt: skip
    # 20 samples 120-150 s apart from midnight all fall in the first hour of the day.
    assert protocol["hours"] == [total] + [0] * 23
    assert (protocol["hours_with_samples"], protocol["busiest_hour"]) == (1, 0)
    assert protocol["busiest_hour_share_pct"] == 100.0
    assert protocol["equipment"]["records_without"] == total
    assert protocol["excluded"] == {
        "outside_declared_area": 0, "closer_than_spacing": {},
        "location_accuracy": {"gate_m": None, "excluded": 0},
    }  # fmt: skip
    assert protocol["standard"]["id"] == QCVN126.id and protocol["declarations"] == []
    assert protocol["first"].startswith("2026-09-30T17:00") and protocol["last"] < "2026-10-05T18"


def test_a_protocol_the_records_do_not_support_is_named(bundle, capsys, aggregator_key):
    """Spreading the samples over the day on paper: the verifier counts them again."""

    def spread(files: dict[str, bytes]) -> None:
        protocol = json.loads(files[layout.PROTOCOL])
        protocol["hours"] = [25] * 24
        protocol["hours_with_samples"] = 24
        files[layout.PROTOCOL] = manifest.to_text(protocol).encode()
        resign(files, aggregator_key)

    rewrite(bundle, spread)
    status, out = run_verify(bundle, capsys, "--key", public_key_b64(aggregator_key))
    assert status == 1
    assert "protocol.json: hours is [25, 25," in out and "the records give [600, 0," in out
    assert "protocol.json: hours_with_samples is 24, the records give 1" in out
    assert "verdict             ok" in out  # the verdict itself still stands


def test_a_format_2_bundle_without_protocol_still_verifies(bundle, capsys, aggregator_key):
    def older(files: dict[str, bytes]) -> None:
        del files[layout.PROTOCOL]
        content = json.loads(files[layout.MANIFEST])
        del content["files"][layout.PROTOCOL]
        content["format"] = "giamsat-evidence/2"
        files[layout.MANIFEST] = manifest.encode(content)
        resign(files, aggregator_key)

    rewrite(bundle, older)
    status, out = run_verify(bundle, capsys, "--key", public_key_b64(aggregator_key))
    assert status == 0, out
    assert "not stated by giamsat-evidence/2 bundles" in out
