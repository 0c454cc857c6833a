"""The direction of flow, checked: every import between stages goes forward or down.

source -> record -> spool -> MQTT -> ingest -> store -> compliance/maps -> evidence/web.
A stage may import the stages before it and what lies below all of them (the
record contract, the aggregates); never a stage after it. Read from the source
with :mod:`ast`, so the rule holds for imports inside functions too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"contract": ROOT / "giamsat" / "contract", "agent": ROOT / "agent",
            "aggregator": ROOT / "aggregator", "maps": ROOT / "maps"}  # fmt: skip

# What each part may import from giamsat (its own part always allowed).
ALLOWED: dict[str, set[str]] = {
    "contract": set(),
    "agent": {"contract"},
    "maps": {"contract"},
    "aggregator.settings": {"contract"},
    "aggregator.aggregates": {"contract"},
    "aggregator.store": {"contract", "aggregator.aggregates"},
    "aggregator.ingest": {"contract", "aggregator.settings", "aggregator.store"},
    # maps: the gaps list classifies hexagons by the map's own pure rules, so the two agree.
    "aggregator.compliance": {
        "contract", "maps", "aggregator.settings", "aggregator.aggregates", "aggregator.store",
    },
    # Evidence applies ingest's own acceptance rule to each record of a bundle,
    # so a bundle is judged exactly as ingest judged its records.
    "aggregator.evidence": {
        "contract", "maps", "aggregator.settings", "aggregator.aggregates", "aggregator.store",
        "aggregator.ingest", "aggregator.compliance",
    },
    "aggregator.http": {
        "contract", "maps", "aggregator.settings", "aggregator.aggregates", "aggregator.store",
        "aggregator.ingest", "aggregator.compliance", "aggregator.evidence",
    },
    "aggregator.serve": {
        "contract", "aggregator.settings", "aggregator.store", "aggregator.ingest",
        "aggregator.http",
    },
    "aggregator.cli": {
        "contract", "aggregator.settings", "aggregator.aggregates", "aggregator.store",
        "aggregator.ingest", "aggregator.compliance", "aggregator.evidence", "aggregator.http",
        "aggregator.serve",
    },
}  # fmt: skip


def part_of(module: str) -> str:
    """``giamsat.aggregator.store.db`` -> ``aggregator.store``; ``giamsat.agent.x`` -> ``agent``."""
    parts = module.split(".")[1:]
    if parts[0] == "aggregator" and len(parts) > 1:
        return f"aggregator.{parts[1]}"
    return parts[0]


def module_name(part: str, path: Path) -> str:
    relative = path.relative_to(PACKAGES[part]).with_suffix("").parts
    names = [n for n in relative if n != "__init__"]
    return ".".join(["giamsat", part, *names])


def imports_of(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in ("giamsat", "giamsat.aggregator"):
                # ``from giamsat.aggregator import settings`` imports a module of a part.
                found.extend(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def all_imports() -> list[tuple[str, str]]:
    pairs = []
    for part, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            me = module_name(part, path)
            pairs.extend((me, target) for target in imports_of(path))
    return pairs


def test_every_import_between_parts_goes_forward_or_down() -> None:
    wrong = []
    for me, target in all_imports():
        if target.split(".")[0] in ("agent", "aggregator", "maps", "demo", "bench", "tests"):
            wrong.append(f"{me} imports {target} (outside the giamsat namespace)")
            continue
        if not target.startswith("giamsat.") or target == "giamsat":
            continue
        mine, theirs = part_of(me), part_of(target)
        if theirs != mine and theirs not in ALLOWED[mine]:
            wrong.append(f"{me} imports {target}")
    assert wrong == []


def test_the_rule_catches_a_backward_import() -> None:
    """The check itself: a store module importing compliance would be refused."""
    me, target = "giamsat.aggregator.store.db", "giamsat.aggregator.compliance.verdicts"
    assert part_of(target) not in ALLOWED[part_of(me)]
    assert part_of("giamsat.aggregator.store.db") == "aggregator.store"
    assert part_of("giamsat.agent.signal.quectel") == "agent"


# What a probe may import beyond the standard library: it must install on Termux.
PROBE_THIRD_PARTY = {"cryptography", "paho", "scapy", "speedtest"}


def test_the_probe_side_needs_only_what_termux_can_install() -> None:
    """The agent and the contract import the standard library, cryptography and paho only.

    (scapy and speedtest-cli are optional, imported only where they are used.)
    """
    outside = set()
    for part in ("agent", "contract"):
        for path in PACKAGES[part].rglob("*.py"):
            for target in imports_of(path):
                top = target.split(".")[0]
                if top != "giamsat" and top not in sys.stdlib_module_names:
                    outside.add(top)
    assert outside <= PROBE_THIRD_PARTY, outside - PROBE_THIRD_PARTY


@pytest.mark.services
def test_the_wheel_installs_one_namespace_and_the_agent_extra_only_probe_deps(
    tmp_path: Path,
) -> None:
    """Built and installed offline: one top-level package; ``[agent]`` pulls only probe deps."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    [wheel] = (tmp_path / "dist").glob("giamsat-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.removeprefix("Requires-Dist: ")
            for line in zf.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: ")
        ]
    assert {n.split("/")[0] for n in names if not n.startswith("giamsat-")} == {"giamsat"}
    # Files the package reads at run time travel with it.
    for data in ("store/migrations/001", "http/web/templates/base.html", "web/static/web.css"):
        assert any(data in n for n in names), data
    assert any(n.startswith("giamsat/maps/static/") for n in names)
    agent_deps = {r.split(";")[0].split("<")[0].split(">")[0] for r in requires
                  if r.endswith('extra == "agent"')}  # fmt: skip
    assert agent_deps == {"cryptography", "paho-mqtt"}

    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    before = {p.name for p in site.iterdir()}
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
         "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    added = {p.name for p in site.iterdir()} - before
    assert {n for n in added if not n.endswith(".dist-info")} == {"giamsat"}


def test_tests_share_helpers_through_tests_support_only() -> None:
    """A test module imports helpers from ``tests.support``, never another test module."""
    wrong = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "tests":
                targets = [f"tests.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            wrong += [f"{path.name} imports {t}" for t in targets if t.startswith("tests.test_")]
    assert wrong == []
