-- The declaration file itself, byte for byte as imported, so an evidence bundle
-- can carry the operator's own published map: anyone can check that its SHA-256
-- is the one a verdict names and derive the cells from it again. Declarations
-- imported before this migration have none (NULL); their bundles carry the cells.
ALTER TABLE declarations ADD COLUMN content bytea;
