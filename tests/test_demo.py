"""`make demo` in its shortened CI form runs to the end, and its evidence bundle verifies."""

import os
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.support.processes import service_dir

pytestmark = pytest.mark.services  # starts the whole demo


def test_demo_runs_to_the_end_and_its_bundle_verifies():
    state = service_dir("giamsat-demo-")
    env = {**os.environ, "GIAMSAT_STATE": str(state)}
    demo = [sys.executable, "-m", "demo"]
    try:
        run = subprocess.run([*demo, "up", "--ci"], env=env, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        lines = run.stdout.strip().splitlines()
        url = lines[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/map")
        assert "VERIFIED: every check passed" in run.stdout
        assert "probes that never had service" in run.stdout
        bundle = state / "demo" / "evidence.zip"
        check = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "giamsat"), "evidence", "verify",
             str(bundle)], capture_output=True, text=True,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        token = (state / "demo" / "inspector.token").read_text().strip()
        base = url.removesuffix("/map")
        records = httpx.get(
            f"{base}/api/v1/records", params={"probe": "bk-pacnam-01"},
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        ).json()  # fmt: skip
        assert records and records[0]["probe"] == "bk-pacnam-01"  # the real agent's record
        page = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert page.status_code == 200 and "leaflet" in page.text.lower()
    finally:
        subprocess.run([*demo, "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)
