"""The stored columns of a record: the one mapping from record JSON to table columns.

Pure (no database driver), so the offline evidence verifier computes exactly
what ingest stores.
"""

from __future__ import annotations

from typing import Any

import h3

from giamsat.aggregator.store.values import Accepted

H3_RESOLUTION = 8


def cell_of(lat: float | None, lon: float | None) -> str | None:
    if lat is None or lon is None:
        return None
    return h3.latlng_to_cell(lat, lon, H3_RESOLUTION)


def columns_of(accepted: Accepted) -> dict[str, Any]:
    """The query columns of a record; the raw bytes are kept exactly as sent.

    A record taken without service names no serving network; it is attributed
    to the operator of the probe's SIM (``net.sim_op``), because "this SIM had
    no service here" is precisely the dead-zone finding. ``rsrp_dbm`` and its
    neighbours are ``sig`` as sent, which in NR-NSA is the LTE anchor; the NR
    leg is kept beside it in ``nr_*`` (DESIGN.md, "5G non-standalone").
    """
    r = accepted.record
    loc, net, sig = r.get("loc") or {}, r.get("net") or {}, r.get("sig") or {}
    lat, dl, ul = r.get("lat") or {}, r.get("dl") or {}, r.get("ul") or {}
    access = r.get("access") or {}
    return {
        "t": accepted.time, "id": r["id"], "probe": r["probe"],
        "lat": loc.get("lat"), "lon": loc.get("lon"), "h3": cell_of(loc.get("lat"), loc.get("lon")),
        "env": loc.get("env"), "service": net.get("service"), "mcc": net.get("mcc"),
        "mnc": net.get("mnc"), "tech": net.get("tech"), "op": net.get("op") or net.get("sim_op"),
        "rsrp_dbm": sig.get("rsrp_dbm"), "rsrq_db": sig.get("rsrq_db"),
        "sinr_db": sig.get("sinr_db"),
        # An NR-NSA record's NR leg, which its 5G judgement reads (samples.py).
        "nr_rsrp_dbm": sig.get("nr_rsrp_dbm"), "nr_rsrq_db": sig.get("nr_rsrq_db"),
        "nr_sinr_db": sig.get("nr_sinr_db"),
        "rtt_ms": lat.get("rtt_ms_p50"), "jitter_ms": lat.get("jitter_ms"),
        "loss_pct": lat.get("loss_pct"), "dl_mbps": dl.get("mbps"), "ul_mbps": ul.get("mbps"),
        "access_ok": access.get("ok"), "access_s": access.get("dur_s"),
        "dl_outcome": dl.get("outcome"), "ul_outcome": ul.get("outcome"),
        "raw": accepted.raw.decode("utf-8"),
    }  # fmt: skip
