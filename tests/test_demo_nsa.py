"""The demo fleet's records as real probes write them: NR-NSA with an LTE anchor and an NR leg,
and every transfer with its outcome (completed, dropped, not started).

Unit tests: records are built by the fleet's own functions, no service is started.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo import fleet
from demo.radio import PROFILES, Measurement, RadioModel, Tower
from demo.terrain import River, Terrain
from demo.villages import VILLAGES
from giamsat.agent.throughput import Access, TransferResult, failure
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.store.columns import columns_of
from giamsat.aggregator.store.values import Accepted, ProbeKey
from giamsat.contract import record

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 9, 7, 30, tzinfo=UTC)
LTE_B3_EARFCN = range(1200, 1950)  # band 3 (1800 MHz) downlink EARFCNs, TS 36.101
N78_ARFCN = range(620_000, 653_334)  # band n78 (3.3-3.8 GHz) NR-ARFCNs, TS 38.104


@pytest.fixture(scope="module")
def keys() -> dict[str, Ed25519PrivateKey]:
    return {v.probe: Ed25519PrivateKey.generate() for v in VILLAGES}


@pytest.fixture(scope="module")
def day_fleet(keys: dict[str, Ed25519PrivateKey]) -> dict[str, list[dict[str, Any]]]:
    """All 50 probes over one day, every 15 minutes, as the fleet generates them."""
    first, last = fleet.time_grid(1, 15, NOW)
    return fleet.generate(fleet.World(1), VILLAGES, keys, first=first, last=last, interval_min=15)


def _records(day_fleet: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [r for recs in day_fleet.values() for r in recs]


def _sample(r: dict[str, Any]) -> Sample:
    accepted = Accepted(r, record.encode(r), record.parse_timestamp(r["t"]))
    return Sample.from_dict(columns_of(accepted))


# --- NR-NSA: the LTE anchor in sig, the NR leg in sig.nr_* ------------------------


def test_nsa_records_carry_the_lte_anchor_in_sig_and_the_nr_leg_in_nr_fields(day_fleet) -> None:
    records = _records(day_fleet)
    nsa = [r for r in records if r["net"].get("tech") == "NR-NSA"]
    lte = [r for r in records if r["net"].get("tech") == "LTE"]
    assert len(nsa) > 200 and len(lte) > 1000
    assert len({r["net"]["op"] for r in nsa}) >= 2
    for r in nsa:
        sig, op = r["sig"], r["net"]["op"]
        # The anchor: an LTE band 3 cell, its PCI in LTE's range, the cell's eNB behind both.
        assert sig["band"] == "B3" and sig["arfcn"] == PROFILES[op].earfcn
        assert sig["arfcn"] in LTE_B3_EARFCN
        assert 0 <= sig["pci"] < 504
        assert sig["pci"] == (int(sig["cell"], 16) >> 8) * 3 % 504
        assert -140 <= sig["rsrp_dbm"] <= -44 and "rssi_dbm" in sig
        # The leg: the operator's n78 carrier, an NR PCI, its own levels.
        assert sig["nr_band"] == PROFILES[op].nr_band == "n78"
        assert sig["nr_arfcn"] == PROFILES[op].nr_arfcn and sig["nr_arfcn"] in N78_ARFCN
        assert 0 <= sig["nr_pci"] <= 1007
        assert -156 <= sig["nr_rsrp_dbm"] <= -31
        assert {"nr_rsrq_db", "nr_sinr_db"} <= set(sig)
    # The leg is measured on its own, not a copy of the anchor.
    differ = sum(
        (r["sig"]["nr_rsrp_dbm"], r["sig"]["nr_sinr_db"])
        != (r["sig"]["rsrp_dbm"], r["sig"]["sinr_db"])
        for r in nsa
    )
    assert differ > 0.9 * len(nsa)
    assert {r["sig"]["nr_pci"] for r in nsa} != {r["sig"]["pci"] for r in nsa}
    # An LTE record has no NR leg; its serving cell is LTE too.
    for r in lte:
        assert not any(k.startswith("nr_") for k in r["sig"]), r["sig"]
        assert r["sig"]["band"] == "B3" and r["sig"]["pci"] < 504


def test_5g_is_judged_on_the_nr_leg_and_4g_on_the_lte_cell(day_fleet) -> None:
    for r in _records(day_fleet):
        tech = r["net"].get("tech")
        if tech == "NR-NSA":
            assert _sample(r).rsrp_dbm == r["sig"]["nr_rsrp_dbm"]
        elif tech == "LTE":
            assert _sample(r).rsrp_dbm == r["sig"]["rsrp_dbm"]


def test_only_5g_capable_probes_write_nsa_records(day_fleet) -> None:
    capable = {v.probe for v in VILLAGES if v.nr}
    with_nsa = {
        p for p, recs in day_fleet.items() if any(r["net"].get("tech") == "NR-NSA" for r in recs)
    }
    assert with_nsa and with_nsa <= capable


# --- ingest accepts every record -----------------------------------------------------


def test_every_demo_record_passes_ingest_validation(keys, day_fleet) -> None:
    registry = {p: ProbeKey(k.public_key()) for p, k in keys.items()}
    reasons: Counter[str] = Counter()
    total = 0
    for probe, recs in day_fleet.items():
        for r in recs:
            outcome = check(record.topic_for(probe), record.encode(r), registry.get, NOW)
            total += 1
            if not isinstance(outcome, Accepted):
                reasons[f"{outcome.reason}: {outcome.detail}"] += 1
    assert total == 50 * 96
    assert not reasons, reasons.most_common(5)


# --- transfer outcomes ---------------------------------------------------------------


def test_outcomes_take_all_three_values_and_match_the_rest_of_the_record(day_fleet) -> None:
    seen: Counter[tuple[str, str]] = Counter()
    for r in _records(day_fleet):
        if r["net"]["service"] is False:
            assert "dl" not in r and "ul" not in r and "access" not in r
            continue
        dl, ul = r["dl"], r.get("ul")
        seen[("dl", dl["outcome"])] += 1
        if ul is not None:
            seen[("ul", ul["outcome"])] += 1
        if dl["outcome"] == "not_started":
            # An access failure: nothing started, nothing moved, no upload tried.
            assert r["access"] == {"ok": False} and ul is None
            assert dl["bytes"] == 0 and "mbps" not in dl and "dur_s" not in dl
            assert r["errors"] == ["dl_failed"]
            continue
        assert r["access"]["ok"] is True and r["access"]["dur_s"] > 0
        if dl["outcome"] == "dropped":
            assert ul is None and r["errors"] == ["dl_failed"]
        elif ul is not None and ul["outcome"] == "dropped":
            assert dl["outcome"] == "completed" and r["errors"] == ["ul_failed"]
        else:
            assert dl["outcome"] == ul["outcome"] == "completed" and r["errors"] == []
        for section in (dl, ul):
            if section is None:
                continue
            if section["outcome"] == "completed":
                assert section["mbps"] > 0 and section["stop"] in ("max_s", "max_bytes")
            else:
                # Dropped: what it moved before the fault and how long it ran, no rate.
                assert "mbps" not in section and section["stop"] == "error"
                assert section["bytes"] > 0 and 0 < section["dur_s"] <= fleet.MAX_TEST_S
    outcomes = {o for _, o in seen}
    assert outcomes == {"completed", "dropped", "not_started"}, seen
    assert ("ul", "not_started") not in seen  # the access sample is the download's
    started = sum(n for (_, o), n in seen.items() if o != "not_started")
    dropped = seen[("dl", "dropped")] + seen[("ul", "dropped")]
    assert 0 < dropped < 0.02 * started


def test_transfer_sections_have_the_agents_shape() -> None:
    """The demo writes what giamsat.agent.throughput writes for each outcome, key for key."""
    village = next(v for v in VILLAGES if not v.route)
    tower = Tower("VIE-T", "Viettel", 22.6, 104.95, 800.0, 30.0, False, 1000, 0.5, 8.0, 1, 1)
    base = Measurement(
        service=True, tech="LTE", tower=tower, rsrp_dbm=-95, rsrq_db=-11.0, sinr_db=8.0, pci=3,
        cell=257, band="B3", arfcn=1650, rtt_ms=30.0, jitter_ms=3.0, loss_pct=0.0,
        access_ok=True, access_s=0.4, dl_mbps=40.0, ul_mbps=12.0, dl_drop=0.0, ul_drop=0.0,
    )  # fmt: skip

    def sections(m: Measurement) -> dict[str, Any]:
        rng = random.Random(1)
        return fleet.record_sections(village, m, village.lat, village.lon, rng, random.Random(2))

    server = fleet.SPEED_TARGET
    agent_completed = TransferResult(
        "giamsat-http", Access(True, 0.4), 40.0, 50_000_000, 10.0, 4, server, "max_s"
    ).section()
    agent_dropped = TransferResult(
        "giamsat-http", Access(True, 0.4), 40.0, 1_000, 0.5, 4, server, "error", "reset"
    ).section()
    agent_not_started = failure("giamsat-http", "connect: timed out", moved=0, streams=4,
                                server=server).section()  # fmt: skip

    done = sections(base)
    assert done["dl"].keys() == done["ul"].keys() == agent_completed.keys()
    assert done["dl"]["outcome"] == "completed" and done["errors"] == []

    dl_drop = sections(dataclasses.replace(base, dl_drop=1.0))
    assert dl_drop["dl"].keys() == agent_dropped.keys() and "ul" not in dl_drop
    assert dl_drop["dl"]["outcome"] == "dropped" and dl_drop["errors"] == ["dl_failed"]
    assert 0 < dl_drop["dl"]["bytes"] < done["dl"]["bytes"]
    assert dl_drop["access"] == done["access"] == {"ok": True, "dur_s": 0.4}

    ul_drop = sections(dataclasses.replace(base, ul_drop=1.0))
    assert ul_drop["dl"] == done["dl"] and ul_drop["ul"].keys() == agent_dropped.keys()
    assert ul_drop["ul"]["outcome"] == "dropped" and ul_drop["errors"] == ["ul_failed"]

    refused = sections(dataclasses.replace(base, access_ok=False, dl_mbps=None, ul_mbps=None))
    assert refused["dl"] == record.drop_nulls(agent_not_started)
    assert refused["access"] == {"ok": False} and "ul" not in refused


def test_drops_are_more_frequent_at_the_cell_edge_than_in_good_signal() -> None:
    # One Viettel site on a flat plateau: a probe 1 km away, and one 8.7 km away at its edge.
    river = River("test", ((22.3, 105.0), (22.9, 105.0)), depth_m=300, half_width_m=800)
    terrain = Terrain(1, massifs=(), rivers=(river,), octaves=(), default_level_m=800)
    tower = Tower("VIE-T", "Viettel", 22.6, 104.95, 800.0, 30.0, False, 1000, 0.5, 8.0, 1, 1)
    model = RadioModel(terrain, [tower], shadowing_sigma_db=0.0, outage_chance=0.0)
    village = next(v for v in VILLAGES if v.sim == "Viettel" and not v.route)

    def drop_ratio(lon: float) -> tuple[float, float, int]:
        rng, outcomes = random.Random(1), random.Random(2)
        links = model.links("Viettel", 22.6, lon, "outdoor_fixed")
        started = dropped = 0
        sinr = []
        for i in range(4000):
            m = model.measure(links, NOW - timedelta(minutes=15 * i), rng, nr_capable=False)
            r = fleet.record_sections(village, m, 22.6, lon, rng, outcomes)
            if m.sinr_db is not None:
                sinr.append(m.sinr_db)
            for d in ("dl", "ul"):
                if d in r and r[d]["outcome"] != "not_started":
                    started += 1
                    dropped += r[d]["outcome"] == "dropped"
        return dropped / started, sum(sinr) / len(sinr), started

    near, near_sinr, near_n = drop_ratio(104.96)
    edge, edge_sinr, edge_n = drop_ratio(104.865)
    assert near_sinr > edge_sinr + 15 and near_n > 7000 and edge_n > 3000
    assert near < 0.01  # well under 1 % in good signal
    assert 0.015 < edge < 0.08  # a few percent at the edge
    assert edge > 4 * near
