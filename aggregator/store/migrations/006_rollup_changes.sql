-- When each rollup row last changed, so derived tables (daily rollups) can be
-- refreshed incrementally, late arrivals included.
ALTER TABLE rollups ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX rollups_updated_at ON rollups (updated_at);
