-- Exact counts at the minimum download speed operators declare (QCVN 81 §2.1.5:
-- the share of samples with download >= Vdmin, per declared service area).
-- Vdmin is any figure to 1 kbit/s and differs by zone and day, so it cannot be
-- read off the fixed-edge throughput histogram: each row counts the samples
-- with a download and a declared Vdmin (dl_vdmin_n) and those at or above it
-- (dl_vdmin_met). Ingest fills them with the declarations in force; after a
-- new declaration `giamsat coverage recount` recomputes them from the records.
-- Rows stored before this migration count none until that recount.
ALTER TABLE rollups
    ADD COLUMN dl_vdmin_n int NOT NULL DEFAULT 0,
    ADD COLUMN dl_vdmin_met int NOT NULL DEFAULT 0;
ALTER TABLE rollups_daily
    ADD COLUMN dl_vdmin_n int NOT NULL DEFAULT 0,
    ADD COLUMN dl_vdmin_met int NOT NULL DEFAULT 0;
