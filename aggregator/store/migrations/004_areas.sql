-- Administrative areas and the H3 cells (rollup resolution) whose centre lies in each.
CREATE TABLE areas (
    id       text PRIMARY KEY,
    name     text NOT NULL,
    level    text NOT NULL,
    parent   text,
    geometry jsonb NOT NULL
);
CREATE TABLE area_cells (
    area_id text NOT NULL REFERENCES areas (id) ON DELETE CASCADE,
    h3      text NOT NULL,
    PRIMARY KEY (area_id, h3)
);
CREATE INDEX area_cells_h3 ON area_cells (h3);
