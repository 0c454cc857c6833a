"""The same data give the same figures, bit for bit, whatever the path, order or machine.

Every comparison here is ``==`` on floats: the CLI, the API, the national
table, assess and the evidence verifier must agree exactly, across runs,
BLAS kernels, thread counts, ingest batching and database plans.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from psycopg.conninfo import make_conninfo

from giamsat.aggregator.aggregates.histogram import FIELDS
from giamsat.aggregator.aggregates.rollup import COLUMNS, Rollup, build_rollups, on_grid
from giamsat.aggregator.compliance import (
    Period,
    assess,
    evaluate,
    load_operators,
    load_standards,
    national,
)
from giamsat.aggregator.compliance.clusters import local_day
from giamsat.aggregator.compliance.stats import bootstrap_mean
from giamsat.aggregator.evidence import layout, verify
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas, daily
from giamsat.aggregator.store import rollups as stored_rollups
from tests.support import evidence
from tests.support.truth import Truth, generate

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = load_standards(PROJECT_CONFIG / "standards")
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
MIGRATION = ROOT / "aggregator" / "store" / "migrations" / "008_sum_grid.sql"
# Thái Nguyên (at the former Bắc Kạn town) and Lào Cai (Bảo Thắng, south of the
# city, which is on the border: the probes' cells reach 0.1° north), as since 1 July 2025.
PROVINCES = {"gso-19": (22.15, 105.83), "gso-15": (22.35, 104.05)}

# Prints float.hex() of every estimate, so outputs compare as text.
_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from giamsat.aggregator.compliance.national import bootstrap_means, clear_memo
    from giamsat.aggregator.compliance.stats import bootstrap_mean, clustered_share

    def show(e):
        return " ".join(float(x).hex() for x in (e.value, e.low, e.high))

    rng = np.random.default_rng(11)
    tasks = []
    for k in (17, 150, 1200, 5000):
        counts = rng.integers(1, 400, k).astype(float)
        # Per-probe-day sums of values with three decimals, as raw data give them.
        sums = np.round(rng.gamma(4.0, 30.0, k) * counts, 3) + rng.random(k) / 7
        hits = np.floor(counts * rng.random(k))
        print(k, "mean", show(bootstrap_mean(sums, counts)))
        print(k, "share", show(clustered_share(hits, counts)), clustered_share(hits, counts)
              .design_effect.hex())
        tasks += [(sums, counts), (sums * 1.1, counts), (-sums / 3, counts)]
    clear_memo()
    for e in bootstrap_means(tasks):
        print("batched", show(e))
    """
)
_CORETYPES = ("", "Prescott", "SandyBridge")  # never an AVX-512 kernel: it crashes without one


def _run_script(threads: int, coretype: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_"))}
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_intervals_are_the_same_bits_for_every_blas_kernel_and_thread_count() -> None:
    outputs = {
        (threads, coretype): _run_script(threads, coretype)
        for threads in (1, 2)
        for coretype in _CORETYPES
    }
    assert all(out.count("\n") == 4 * 2 + 12 for out in outputs.values())
    first = outputs[(1, "")].splitlines()
    differ = {
        setting: [f"{a}  !=  {b}" for a, b in zip(first, out.splitlines(), strict=True) if a != b]
        for setting, out in outputs.items()
    }
    assert not any(differ.values()), {s: d for s, d in differ.items() if d}


def test_one_mean_equals_the_same_mean_batched_with_others() -> None:
    rng = np.random.default_rng(3)
    for k in (17, 150, 1200, 5000):
        counts = rng.integers(1, 400, k).astype(float)
        sums = np.round(rng.gamma(4.0, 30.0, k) * counts, 3) + rng.random(k) / 7
        alone = bootstrap_mean(sums, counts)
        decoys = []
        for other_k in (k, k, 9, k + 1):
            other_counts = rng.integers(1, 4000, other_k).astype(float)
            decoys.append((rng.gamma(1.0, 1e4, other_k) * other_counts, other_counts))
        decoys.append((sums * 3.0, counts))
        national.clear_memo()
        batched = national.bootstrap_means([*decoys, (sums, counts)])[-1]
        assert batched == alone, k


# --- the engine, whatever the order and batching of its input ---------------------------


def _samples() -> list:
    """Two operators on 5G and 4G in two provinces; samples >= 120 s apart (no close ones)."""
    found = []
    seed = 0
    for province, (lat, lon) in PROVINCES.items():
        for op, dl in (("Viettel", 130.0), ("MobiFone", 97.0)):
            for tech, scale in (("NR-SA", 1.0), ("LTE", 0.25)):
                seed += 1
                truth = Truth(
                    operator=op, tech=tech, dl_mbps=dl * scale, ul_mbps=40 * scale, lat=lat,
                    lon=lon, probes=5, days=6, per_probe_day=40, no_service=0.05, seed=seed,
                )  # fmt: skip
                found += [
                    dataclasses.replace(s, probe=f"{province}-{tech}-{s.probe}")
                    for s in generate(truth)
                ]
    return found


def _batches(samples: list, parts: int, seed: int) -> list[list]:
    """``samples`` dealt at random into ``parts`` batches, each in random order."""
    shuffled = list(samples)
    random.Random(seed).shuffle(shuffled)
    return [shuffled[i::parts] for i in range(parts)]


def _merged(batches: list[list]) -> list[Rollup]:
    """Rollups of each batch, added key by key in batch order, as ingest upserts them.

    No ``last_seen``: samples are at least 120 s apart, so a wrong predecessor
    never makes a sample too close, and the spacing counts do not depend on
    the batching; only the sums do.
    """
    merged: dict[tuple, Rollup] = {}
    for batch in batches:
        for row in build_rollups(batch):
            merged[row.key] = merged[row.key].merged(row) if row.key in merged else row
    return [merged[key] for key in sorted(merged)]


def test_evaluate_is_the_same_for_shuffled_and_batched_samples() -> None:
    samples = _samples()
    shuffled = list(samples)
    random.Random(1).shuffle(shuffled)
    batched = _merged(_batches(samples, 3, 2))
    assert len(batched) == len(build_rollups(samples))  # the same keys, summed
    for standard in STANDARDS.values():
        for op in ("Viettel", "MobiFone"):
            operator = OPERATORS[op]
            reference = evaluate(
                standard, operator, build_rollups(samples), area="A", period=PERIOD
            )
            again = evaluate(standard, operator, build_rollups(shuffled), area="A", period=PERIOD)
            merged = evaluate(standard, operator, batched, area="A", period=PERIOD)
            assert again == reference
            assert merged == reference


# --- the database, batched ingest and parallel plans ----------------------------------------

_PARALLEL = (
    "-c parallel_setup_cost=0 -c parallel_tuple_cost=0 -c min_parallel_table_scan_size=0"
    " -c min_parallel_index_scan_size=0 -c max_parallel_workers_per_gather=4"
)


def test_national_table_assess_and_evaluate_agree_exactly_with_parallel_plans(db_dsn) -> None:
    samples = _samples()
    for batch in _batches(samples, 3, 4):  # three ingest transactions, each adding its sums
        with psycopg.connect(db_dsn) as conn, conn.cursor() as cur:
            stored_rollups.upsert_rollups(cur, build_rollups(batch))
    found_areas = areas.load_areas(PROJECT_CONFIG / "areas")
    names = [(pid, found_areas[pid].name) for pid in PROVINCES] + [("all", "cả nước")]
    operators = [OPERATORS["Viettel"], OPERATORS["MobiFone"]]
    parallel = make_conninfo(db_dsn, options=_PARALLEL)
    with psycopg.connect(parallel, autocommit=True) as conn:
        areas.sync(conn, {pid: found_areas[pid] for pid in PROVINCES})
        plan = "\n".join(
            r[0] for r in conn.execute("EXPLAIN SELECT sum(dl_mbps_sum) FROM rollups").fetchall()
        )
        assert "Parallel" in plan, plan
        national.clear_memo()
        before = national.national_table(conn, STANDARDS.values(), operators, PERIOD, areas=names)
        daily.refresh_daily(conn)
        national.clear_memo()
        after = national.national_table(conn, STANDARDS.values(), operators, PERIOD, areas=names)
        national.clear_memo()
        one_by_one = [
            (area_id, assess.assess(conn, standard, operator, area_id, PERIOD, area_name=name))
            for standard in STANDARDS.values()
            for area_id, name in names
            for operator in operators
        ]
    assert len(before) == len(STANDARDS) * len(names) * len(operators)
    assert after == before
    assert one_by_one == before
    for area_id, found in after:
        mine = [s for s in samples if area_id == "all" or s.probe.startswith(f"{area_id}-")]
        expected = evaluate(
            STANDARDS[found.standard_id], OPERATORS[found.operator], build_rollups(mine),
            area=dict(names)[area_id], period=PERIOD,
        )  # fmt: skip
        assert found == expected, (area_id, found.standard_id, found.operator)


def test_migration_puts_stored_sums_on_the_grid_and_rebuilds_the_daily_rows(db_dsn) -> None:
    """Sums stored before the grid (raw values added in arrival order) are snapped once."""
    samples = generate(Truth(probes=3, days=3, per_probe_day=30, no_service=0.1, seed=9))
    old_rows = []
    for rollup in build_rollups(samples):
        row = rollup.as_row()
        for name in FIELDS:  # what the code before the grid stored: off the grid
            row[f"{name}_sum"] += math.ldexp(row[f"{name}_sum"], -40) if row[f"{name}_n"] else 0.0
        old_rows.append(row)
    sums = [f"{name}_sum" for name in FIELDS]
    assert any(not _on_grid(row[c]) for row in old_rows for c in sums)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with conn.cursor() as cur:
            values = [[row[c] for c in COLUMNS] for row in old_rows]
            cur.executemany(stored_rollups.UPSERT_ONE, values)
        daily.refresh_daily(conn)
        assert conn.execute("SELECT count(*) FROM rollups_daily").fetchone()[0] > 0
        with conn.transaction():
            conn.execute(MIGRATION.read_text())
        assert daily.watermark(conn) == "-infinity"
        assert conn.execute("SELECT count(*) FROM rollups_daily").fetchone()[0] == 0
        stored = _stored(conn)
        want = {
            (row["hour"], row["h3"], row["op"], row["tech"], row["probe"], row["env"]): row
            for row in old_rows
        }
        assert set(stored) == set(want)
        for key, row in stored.items():
            for c in sums:
                assert row[c] == on_grid(want[key][c]), (key, c)
        rows = [Rollup.from_row(row) for row in stored.values()]
        standard, operator = STANDARDS["QCVN-126:2021/BTTTT"], OPERATORS["Viettel"]
        expected = evaluate(standard, operator, rows, area="x", period=PERIOD)
        before = assess.assess(conn, standard, operator, "all", PERIOD, area_name="x")
        days = {(local_day(r.hour), r.h3, r.op, r.tech, r.probe, r.env) for r in rows}
        assert daily.refresh_daily(conn) == len(days)  # every daily row rebuilt
        national.clear_memo()
        after = assess.assess(conn, standard, operator, "all", PERIOD, area_name="x")
    assert before == after == expected


def _on_grid(value: float) -> bool:
    return on_grid(value) == value


def _stored(conn) -> dict[tuple, dict]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(f"SELECT {', '.join(COLUMNS)} FROM rollups").fetchall()
    return {(r["hour"], r["h3"], r["op"], r["tech"], r["probe"], r["env"]): r for r in rows}


# --- evidence: verified exactly, on another BLAS kernel and thread count --------------------


def test_evidence_verifies_exactly_elsewhere_and_one_bit_off_is_named(tmp_path) -> None:
    key = Ed25519PrivateKey.generate()
    bundle = evidence.build(tmp_path / "bundle.zip", evidence.fleet(evidence.SLOW_NETWORK), key)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_"))}
    env.update(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2", OPENBLAS_CORETYPE="Prescott")
    command = [sys.executable, "-m", "giamsat.aggregator.evidence.verify", "--quiet",
               "--key", bundle.fingerprint]  # fmt: skip
    elsewhere = subprocess.run(
        [*command, str(bundle.path)], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr

    def one_bit_higher(files: dict[str, bytes]) -> None:
        verdict = json.loads(files[layout.VERDICT])
        dl = next(k for k in verdict["kpis"] if k["kpi_id"] == "dl_mean")
        dl["ci_high"] = math.nextafter(dl["ci_high"], math.inf)
        files[layout.VERDICT] = json.dumps(verdict, ensure_ascii=False, indent=2).encode()
        evidence.resign(files, key)

    evidence.rewrite(bundle.path, one_bit_higher)
    result = verify.verify_bundle(bundle.path)
    assert not result.ok
    assert [p for p in result.all_problems() if "dl_mean.ci_high" in p], result.all_problems()


@pytest.fixture(autouse=True)
def _fresh_memo():
    national.clear_memo()
    yield
    national.clear_memo()
