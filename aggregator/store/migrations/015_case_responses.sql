-- The operator's answer to a notice, and a role for the operators themselves.
--
-- A notice opens a response window ([compliance] response_window_days); the
-- operator answers through the API (its own token, role operator, bound to its
-- company) or an inspector records a paper answer with `giamsat cases
-- respond`. An answer is its text and any files (the operator's own drive-test
-- logs), each kept with its SHA-256; who and when come from the token and the
-- clock, never from the answer. A case cannot escalate from a notice until
-- that notice's window has closed (aggregator/compliance/escalation.py).
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens
    ADD COLUMN operator text,
    ADD CONSTRAINT api_tokens_role_check
        CHECK (role IN ('viewer', 'inspector', 'admin', 'operator')),
    ADD CONSTRAINT api_tokens_operator_role CHECK ((role = 'operator') = (operator IS NOT NULL));

CREATE TABLE case_responses (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES cases (id),
    notice_state text NOT NULL,          -- the notice answered: notice_1, notice_2, ...
    notice_on    date NOT NULL,          -- the day it was issued
    received_at  timestamptz NOT NULL DEFAULT now(),
    who          text NOT NULL,
    role         text NOT NULL,
    text         text NOT NULL,
    late         boolean NOT NULL        -- received after the notice's window closed
);
CREATE INDEX case_responses_case ON case_responses (case_id, id);

CREATE TABLE case_response_files (
    response_id bigint NOT NULL REFERENCES case_responses (id),
    name        text NOT NULL,
    sha256      text NOT NULL,
    bytes       bigint NOT NULL,
    content     bytea NOT NULL,
    PRIMARY KEY (response_id, name)
);
