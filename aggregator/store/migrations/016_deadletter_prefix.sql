-- A dead letter keeps a bounded prefix of its payload, with the whole payload's
-- size and SHA-256: enough to diagnose a malformed record (records are a few
-- kilobytes) without letting a leaked probe password fill the disk with
-- megabyte payloads. Rows stored before keep their hash and size, then their
-- payload is cut to the same prefix (aggregator/store/records.py,
-- DEADLETTER_PREFIX_BYTES).
ALTER TABLE deadletter
    ADD COLUMN payload_bytes bigint,
    ADD COLUMN payload_sha256 text;
UPDATE deadletter SET payload_bytes = length(payload), payload_sha256 = encode(sha256(payload), 'hex');
UPDATE deadletter SET payload = substring(payload FROM 1 FOR 4096) WHERE length(payload) > 4096;
ALTER TABLE deadletter
    ALTER COLUMN payload_bytes SET NOT NULL,
    ALTER COLUMN payload_sha256 SET NOT NULL;
