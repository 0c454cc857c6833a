"""``speedtest-cli``: the ``speedtest`` module (PyPI speedtest-cli 2.1.3) as a method.

In the field it measures against Ookla's servers, which operators cannot
single out for special treatment as easily as they could our own server.
Pointed at a giamsat speed server (option ``server``), it measures against
that server's Speedtest Mini paths, which is how the accuracy benchmark
compares it with ``giamsat-http`` on the same link.

What the library does and we live with: its constructor always fetches
``speedtest-config.php`` from speedtest.net (plain HTTP is refused now, hence
``secure=True``); it divides payload bytes by the time from its first request
to its last thread ending, ramp-up included, over a fixed ``testlength``
(10 s per direction in speedtest.net's config); its ping is half the mean
HTTP request time, so the record takes latency from ``giamsat.agent.latency`` instead.
For our own server the subclass below supplies speedtest.net's config values
itself, so nothing is fetched from speedtest.net.

The library is an optional agent dependency, imported only when this method
runs; without it the method reports an error instead of failing the probe.

Dropped transfers (QCVN §2.1.4): the library's threads swallow their own
errors and timeouts, so a stalled or reset request only ends early and the
rate comes out lower. What this method can see is a test that raised or
moved no byte after a successful access; it reports those as dropped.
``giamsat-http`` sees every fault and stall (``stall_s``).
"""

from __future__ import annotations

import importlib
import math
import time
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from giamsat.agent import plugins
from giamsat.agent.throughput import Access, Direction, TransferResult, failure
from giamsat.contract.config import Section

# From speedtest.net's speedtest-config.php: <download testlength="10" threadsperurl="4"/>,
# <upload testlength="10" ratio="5" threads="2" maxchunkcount="50"/>,
# <server-config threadcount="4"/>.
OOKLA_DOWNLOAD = {"testlength": 10, "threadsperurl": 4}
OOKLA_UPLOAD = {"testlength": 10, "ratio": 5, "threads": 2, "maxchunkcount": 50}
OOKLA_THREADCOUNT = 4
UPLOAD_SIZES = [32768, 65536, 131072, 262144, 524288, 1048576, 7340032]
DOWNLOAD_SIZES = [350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000]
# A download and the upload after it share one server selection if this close together.
SESSION_S = 300.0


def mini_config(length_s: float) -> dict[str, Any]:
    """The config ``Speedtest.get_config`` derives from speedtest.net's, with our test length."""
    ratio = OOKLA_UPLOAD["ratio"]
    upload_sizes = UPLOAD_SIZES[ratio - 1 :]
    upload_count = math.ceil(OOKLA_UPLOAD["maxchunkcount"] / len(upload_sizes))
    return {
        "client": {"ip": "", "isp": "", "lat": "0", "lon": "0", "country": ""},
        "ignore_servers": [],
        "sizes": {"upload": upload_sizes, "download": list(DOWNLOAD_SIZES)},
        "counts": {"upload": upload_count, "download": OOKLA_DOWNLOAD["threadsperurl"]},
        "threads": {"upload": OOKLA_UPLOAD["threads"], "download": OOKLA_THREADCOUNT * 2},
        "length": {"upload": length_s, "download": length_s},
        "upload_max": upload_count * len(upload_sizes),
    }


def own_server_client(
    speedtest: ModuleType, base_url: str, length_s: float, timeout_s: float
) -> Any:
    """A ``speedtest.Speedtest`` bound to one Mini server that never calls speedtest.net."""
    parts = urlsplit(base_url)
    server = {
        "url": f"{base_url.rstrip('/')}/speedtest/upload.php",
        "name": parts.hostname or base_url,
        "sponsor": "giamsat",
        "country": "",
        "id": "0",
        "d": 0.0,
    }

    class OwnServerSpeedtest(speedtest.Speedtest):  # type: ignore[name-defined]
        def get_config(self) -> dict[str, Any]:
            self.config.update(mini_config(length_s))
            self.lat_lon = (0.0, 0.0)
            return self.config

        def get_servers(self, servers: Any = None, exclude: Any = None) -> dict[float, list[Any]]:
            self.servers = {0.0: [dict(server)]}
            return self.servers

    return OwnServerSpeedtest(timeout=timeout_s, secure=parts.scheme == "https")


@plugins.register("throughput", "speedtest-cli")
class SpeedtestCli:
    name = "speedtest-cli"

    def __init__(self, options: Section) -> None:
        self.server = options.str("server", None)
        if self.server is not None and urlsplit(self.server).scheme not in ("http", "https"):
            raise options.error("server", "must be an http:// or https:// URL of a speed server")
        self.server_id = options.int("server_id", None, min=1)
        self.threads = options.int("threads", None, min=1, max=32)
        self.length_s = options.float("length_s", 10.0, min=1.0, max=60.0)
        self.timeout_s = options.float("timeout_s", 10.0, min=1.0, max=120.0)
        self._client: Any = None
        self._client_at = 0.0

    def _session(self, speedtest: ModuleType) -> Any:
        """A client with its server chosen, reused for the upload after a download."""
        now = time.monotonic()
        if self._client is None or now - self._client_at > SESSION_S:
            if self.server is not None:
                client = own_server_client(speedtest, self.server, self.length_s, self.timeout_s)
            else:
                client = speedtest.Speedtest(secure=True, timeout=self.timeout_s)
                if self.server_id is not None:
                    client.get_servers([self.server_id])
            client.get_best_server()
            self._client, self._client_at = client, now
        return self._client

    def _access(self, speedtest: ModuleType, client: Any) -> float | None:
        """Time to the first response byte of one GET of the chosen server's latency.txt."""
        base = client.best["url"].rsplit("/", 1)[0]
        start = time.monotonic()
        request = speedtest.build_request(f"{base}/latency.txt", secure=client._secure)
        response, error = speedtest.catch_request(request, opener=client._opener)
        if error or response is None:
            return None
        elapsed = time.monotonic() - start
        response.read()
        response.close()
        return round(elapsed, 4)

    def measure(self, direction: Direction) -> TransferResult:
        try:
            speedtest = importlib.import_module("speedtest")
        except ImportError:
            return failure(self.name, "speedtest-cli is not installed (pip install speedtest-cli)")
        try:
            client = self._session(speedtest)
        except (speedtest.SpeedtestException, OSError) as exc:
            self._client = None
            return failure(self.name, f"setup: {type(exc).__name__}: {exc}", moved=0)
        server = urlsplit(client.best["url"]).hostname
        access_s = self._access(speedtest, client)
        if access_s is None:
            self._client = None
            return failure(self.name, "no answer from the test server", moved=0, server=server)
        began = time.monotonic()
        try:
            if direction == "dl":
                bps = client.download(threads=self.threads)
                moved = client.results.bytes_received
                streams = self.threads or client.config["threads"]["download"]
            else:
                bps = client.upload(threads=self.threads)
                moved = client.results.bytes_sent
                streams = self.threads or client.config["threads"]["upload"]
        except (speedtest.SpeedtestException, OSError) as exc:
            # Started (the server answered) and then failed: a dropped transfer.
            self._client = None
            return failure(
                self.name, f"{type(exc).__name__}: {exc}", access_s=access_s, server=server
            )
        return TransferResult(
            method=self.name,
            access=Access(True, access_s),
            mbps=round(bps / 1e6, 3) if moved else None,
            bytes=moved,
            dur_s=round(time.monotonic() - began, 3),
            streams=streams,
            server=server,
            stop=None if moved else "error",
            error=None if moved else "no bytes moved",
        )
