-- Escalation cases per (operator, area, standard, KPI) and the notices they produced.
CREATE TABLE cases (
    id          bigserial PRIMARY KEY,
    ref         text NOT NULL UNIQUE,      -- Case.id, quoted in notices
    operator    text NOT NULL,
    area        text NOT NULL,
    standard_id text NOT NULL,
    kpi_id      text NOT NULL,
    state       text NOT NULL,
    opened_on   date NOT NULL,
    updated_on  date NOT NULL,
    data        jsonb NOT NULL             -- the whole Case with its dated history
);
-- At most one case that is not closed per operator, area and standard KPI.
CREATE UNIQUE INDEX cases_one_open ON cases (operator, area, standard_id, kpi_id)
    WHERE state <> 'closed';

CREATE TABLE notices (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES cases (id),
    state         text NOT NULL,
    language      text NOT NULL,
    issued_on     date NOT NULL,
    bundle_sha256 text NOT NULL,
    text          text NOT NULL
);
