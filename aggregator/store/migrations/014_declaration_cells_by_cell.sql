-- Which declarations hold a cell, answered from the index alone: readers ask it
-- per cell (the national table for the cells of a period, the gaps list for
-- the cells of a province, ingest for a batch's cells), always with the
-- declarations they care about. (h3, declaration) serves those lookups as an
-- index-only scan, where the index on h3 alone had to visit the table for
-- every declaration of every cell.
CREATE INDEX declaration_cells_h3_declaration ON declaration_cells (h3, declaration);
DROP INDEX declaration_cells_h3;
