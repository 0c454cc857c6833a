"""The record's schema: its sections, each field's type and physical range, and the vocabularies.

Physical limits, not quality limits: a value outside them is a broken or
forged measurement. Ingest refuses such a record; the agent, the offline
verifier and the compliance engine read the same vocabularies, so a new
technology or environment is added here once.
"""

from __future__ import annotations

# Radio technologies a record's ``net.tech`` may name.
TECHNOLOGIES = ("LTE", "NR-SA", "NR-NSA", "WCDMA", "GSM")
# (section, field) -> (accepted types, minimum, maximum). Physical limits, not
# quality limits: a value outside them is a broken or forged measurement.
NUMBER = (int, float)
FIELDS: dict[tuple[str, str], tuple[tuple[type, ...], float | None, float | None]] = {
    ("loc", "lat"): (NUMBER, -90, 90),
    ("loc", "lon"): (NUMBER, -180, 180),
    ("loc", "acc_m"): (NUMBER, 0, 100_000),
    ("loc", "src"): ((str,), None, None),
    ("loc", "env"): ((str,), None, None),
    ("net", "service"): ((bool,), None, None),
    ("net", "mcc"): ((int,), 1, 999),
    ("net", "mnc"): ((int,), 0, 999),
    ("net", "tech"): ((str,), None, None),
    ("net", "op"): ((str,), None, None),
    ("net", "sim_op"): ((str,), None, None),
    ("sig", "rsrp_dbm"): (NUMBER, -156, -30),
    ("sig", "rsrq_db"): (NUMBER, -43, 20),
    ("sig", "sinr_db"): (NUMBER, -23, 40),
    ("sig", "rssi_dbm"): (NUMBER, -130, 0),
    ("sig", "pci"): ((int,), 0, 1007),
    # The NR leg of an NR-NSA record (``sig`` is the LTE anchor): 5G is judged on
    # it, so it is checked like the anchor. Ranges are what a UE can report:
    # 3GPP TS 38.133 §10.1.6 (L3 SS-RSRP), §10.1.11 (SS-RSRQ), §10.1.16
    # (SS-SINR); NR PCI (TS 38.211 §7.4.2.1) and NR-ARFCN (TS 38.104 §5.4.2.1).
    ("sig", "nr_rsrp_dbm"): (NUMBER, -156, -31),
    ("sig", "nr_rsrq_db"): (NUMBER, -43, 20),
    ("sig", "nr_sinr_db"): (NUMBER, -23, 40),
    ("sig", "nr_pci"): ((int,), 0, 1007),
    ("sig", "nr_arfcn"): ((int,), 0, 3_279_165),
    ("sig", "nr_band"): ((str,), None, None),
    ("lat", "n"): ((int,), 0, 10_000),
    ("lat", "rtt_ms_p50"): (NUMBER, 0, 60_000),
    ("lat", "jitter_ms"): (NUMBER, 0, 60_000),
    ("lat", "loss_pct"): (NUMBER, 0, 100),
    ("dl", "mbps"): (NUMBER, 0, 100_000),
    ("dl", "bytes"): ((int,), 0, 10**12),
    ("dl", "dur_s"): (NUMBER, 0, 3600),
    ("dl", "streams"): ((int,), 1, 64),
    ("ul", "mbps"): (NUMBER, 0, 100_000),
    ("ul", "bytes"): ((int,), 0, 10**12),
    ("ul", "dur_s"): (NUMBER, 0, 3600),
    ("ul", "streams"): ((int,), 1, 64),
    ("dl", "outcome"): ((str,), None, None),
    ("ul", "outcome"): ((str,), None, None),
    ("access", "ok"): ((bool,), None, None),
    ("access", "dur_s"): (NUMBER, 0, 600),
    ("health", "spool_queued"): ((int,), 0, 10**9),
    ("health", "spool_refused"): ((int,), 0, 10**9),
    ("health", "budget_used_mb"): (NUMBER, 0, 10**7),
    ("health", "budget_mb"): (NUMBER, 0, 10**7),
}
# The sections a record may carry, in the order they are checked.
SECTIONS = ("loc", "net", "sig", "lat", "dl", "ul", "access", "health")
# Where a sample was taken: the standards' sampling rules count each.
ENVIRONMENTS = ("indoor", "outdoor_fixed", "outdoor_mobile")
# What became of a download or upload test (``dl.outcome``, ``ul.outcome``): it
# completed; it started (its access succeeded) and then failed, a dropped data
# transfer (QCVN §2.1.4); or it never started, an access failure (§2.1.2).
TRANSFER_OUTCOMES = ("completed", "dropped", "not_started")
