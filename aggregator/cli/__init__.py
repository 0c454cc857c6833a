"""The `giamsat` command line: :mod:`.main` builds the parser from one module per group.

:mod:`.common` holds what the groups share (``--config``, the ``--from``/``--to`` period,
the standard and operator lookup).
"""
