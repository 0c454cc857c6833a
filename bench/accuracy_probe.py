"""Run one throughput measurement and print its result as JSON.

bench/accuracy.py starts this inside the probe's network namespace
(``ip netns exec``), so the measurement runs exactly as the agent would run it.

usage: accuracy_probe.py METHOD DIRECTION URL [KEY=JSON ...]
e.g.   accuracy_probe.py giamsat-http dl http://198.18.0.1:8080 streams=4
"""

from __future__ import annotations

import json
import sys

from giamsat.agent import plugins
from giamsat.agent.throughput import DIRECTIONS, create
from giamsat.contract.config import Section


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in plugins.names("throughput") or argv[1] not in DIRECTIONS:
        print(__doc__, file=sys.stderr)
        return 2
    method, direction, url, *pairs = argv
    options: dict[str, object] = {"url" if method == "giamsat-http" else "server": url}
    for pair in pairs:
        key, _, value = pair.partition("=")
        options[key] = json.loads(value)
    result = create(method, Section(options, "accuracy_probe")).measure(direction)  # type: ignore[arg-type]
    print(json.dumps(result.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
