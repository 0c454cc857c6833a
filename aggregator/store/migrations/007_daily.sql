-- Daily rollups: the hourly rollups of each local (UTC+7) calendar day summed per
-- (H3 cell, operator, technology, probe, environment). The compliance engine
-- clusters samples by probe-day anyway, so a year of a national fleet is read
-- from ~1/24 of the hourly rows. Maintained by aggregator/daily.py
-- (refresh_daily), incrementally from rollups.updated_at; read by
-- aggregator/national.py (the country-wide table, and assess).
--
-- Histograms are stored as counts "at or above": element i (1-based) counts the
-- values in bin i or any higher bin, i.e. values >= the bin's lower edge. They
-- still add across rows, and a threshold count (download >= 30 Mbit/s, RSRP >=
-- -115 dBm) is one subscript instead of a sum over a slice, which is what lets
-- the country-wide table read a year in one pass.
CREATE TABLE rollups_daily (
    day date NOT NULL,
    h3 text NOT NULL,
    op text NOT NULL,
    tech text NOT NULL,
    probe text NOT NULL,
    env text NOT NULL,
    records int NOT NULL,
    no_service int NOT NULL,
    access_attempts int NOT NULL,
    access_failures int NOT NULL,
    gap_atleast int[] NOT NULL,
    dl_mbps_n bigint NOT NULL,
    dl_mbps_sum double precision NOT NULL,
    dl_mbps_sumsq double precision NOT NULL,
    dl_mbps_atleast int[] NOT NULL,
    ul_mbps_n bigint NOT NULL,
    ul_mbps_sum double precision NOT NULL,
    ul_mbps_sumsq double precision NOT NULL,
    ul_mbps_atleast int[] NOT NULL,
    rtt_ms_n bigint NOT NULL,
    rtt_ms_sum double precision NOT NULL,
    rtt_ms_sumsq double precision NOT NULL,
    rtt_ms_atleast int[] NOT NULL,
    access_s_n bigint NOT NULL,
    access_s_sum double precision NOT NULL,
    access_s_sumsq double precision NOT NULL,
    access_s_atleast int[] NOT NULL,
    rsrp_dbm_n bigint NOT NULL,
    rsrp_dbm_sum double precision NOT NULL,
    rsrp_dbm_sumsq double precision NOT NULL,
    rsrp_dbm_atleast int[] NOT NULL,
    PRIMARY KEY (day, h3, op, tech, probe, env)
);
SELECT create_hypertable('rollups_daily', 'day', chunk_time_interval => interval '14 days');

-- Hourly rows changed at or after the watermark are not yet in rollups_daily.
CREATE TABLE daily_refresh (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    watermark timestamptz NOT NULL DEFAULT '-infinity',
    refreshed_at timestamptz
);
INSERT INTO daily_refresh DEFAULT VALUES;
