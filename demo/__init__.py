"""A simulated probe fleet in four northern mountain provinces, for demos and tests.

Fifty probes sit at real commune centres of Cao Bằng, Lào Cai, Thái Nguyên and
Tuyên Quang, the provinces since 1 July 2025 that took in the former Bắc Kạn and
Hà Giang (:mod:`demo.villages`); the ground they stand on is a cheap synthetic
terrain with the real river valleys cut into it (:mod:`demo.terrain`); three
operators' towers and a path-loss model with shadowing and terrain diffraction
decide what each probe measures (:mod:`demo.radio`); each operator publishes
the service areas it declares, drawn around its sites (:mod:`demo.declarations`),
which the demo imports as the regulator would; and :mod:`demo.fleet` turns that
into signed v1 records, registers the probes and publishes the records through
the real broker to the real ingest, exactly as probes would.

Everything is synthetic: the operators' names are real because the standards
and maps are per operator, but no figure here describes a real network.
"""
