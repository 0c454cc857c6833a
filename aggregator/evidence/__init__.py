"""Evidence bundles: what an inspector hands an operator, verifiable offline by anyone.

A bundle (one ZIP per operator, area, standard and period) holds the records
exactly as the probes signed them, the same as CSV, the probes' public keys
and registration data, the standard and operator declarations applied, the
verdict with its intervals and sampling grade, a map, a bilingual PDF report
and a README with the verification steps, bound together by ``manifest.json``
(every file's SHA-256) and ``manifest.sig`` (the aggregator's Ed25519
signature). See :mod:`.layout` for the files and :mod:`.manifest` for the
signed bytes.

- :mod:`.records` — one record: genuine? in the case? its sample and CSV row
- :mod:`.assemble` — writing a bundle from records (no database)
- :mod:`.bundle` — choosing the records from the database
- :mod:`.verify` — offline verification (no psycopg, no network)
- :mod:`.report` — the PDF; :mod:`.mapping` — the map; :mod:`.readme` — README.txt
- :mod:`.keys` — the aggregator's signing key
- :mod:`.cli`, :mod:`.api` — ``giamsat evidence ...`` and ``GET /api/v1/evidence``

Nothing is imported here, so ``python -m giamsat.aggregator.evidence.verify`` loads
only what verification needs.
"""
