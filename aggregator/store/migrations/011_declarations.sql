-- Declared service areas (QCVN 81/126 Annex B): each operator publishes, per
-- technology, the area it serves as a digital map with its declared speeds.
-- One declaration is one imported file, known by its SHA-256; its zones are
-- the file's features, each with its own declared speeds where the file gives
-- them; its cells are the H3 cells (rollup resolution) whose centre lies in a zone.
CREATE TABLE declarations (
    sha256      char(64) PRIMARY KEY,
    operator    text NOT NULL,
    technology  text NOT NULL CHECK (technology IN ('4G', '5G')),
    valid_from  date NOT NULL,
    valid_to    date,                       -- last day in force; NULL while in force
    file_name   text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX declarations_in_force ON declarations (operator, technology, valid_from);

CREATE TABLE declaration_zones (
    declaration char(64) NOT NULL REFERENCES declarations (sha256) ON DELETE CASCADE,
    zone        int NOT NULL,               -- the feature's position in the file
    name        text NOT NULL,
    -- Declared speeds in Mbit/s, kept exactly as declared (256 kbit/s is 0.256).
    vd_mbps     numeric(9, 3),
    vu_mbps     numeric(9, 3),
    vdmin_mbps  numeric(9, 3),
    PRIMARY KEY (declaration, zone)
);

CREATE TABLE declaration_cells (
    declaration char(64) NOT NULL,
    zone        int NOT NULL,
    h3          text NOT NULL,
    PRIMARY KEY (declaration, h3),
    FOREIGN KEY (declaration, zone) REFERENCES declaration_zones (declaration, zone)
        ON DELETE CASCADE
);
CREATE INDEX declaration_cells_h3 ON declaration_cells (h3);
