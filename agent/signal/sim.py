"""Synthetic signal for demos and tests: a serving cell whose RSRP wanders around a mean.

Below ``dead_dbm`` the simulated modem loses service, so a demo probe placed
in a weak spot produces the "no service" records a real one would.

``rsrp_dbm`` is the level of the technology simulated. In NR-NSA that is the
NR leg, sent as ``sig.nr_*`` beside an LTE anchor in ``sig`` (heard
``NSA_ANCHOR_DB`` stronger, on a lower band), as a real NSA modem reports
them: 5G is judged on the NR leg.
"""

from __future__ import annotations

import random
from typing import Any

from giamsat.agent import plugins
from giamsat.agent.signal import SignalReading
from giamsat.agent.signal.operators import operator_name
from giamsat.contract.config import Section

TECHS = ("LTE", "NR-NSA", "NR-SA")
# How much stronger an NSA modem hears its LTE anchor (e.g. band 3) than the NR leg (n78).
NSA_ANCHOR_DB = 6.0


def _levels(rsrp: float, noise_db: float) -> dict[str, float]:
    """RSRP with an RSRQ and SINR that follow it loosely, as they do in the field."""
    sinr = round(max(-20.0, min(30.0, (rsrp + 120.0) * 0.6 + noise_db)), 1)
    rsrq = round(max(-20.0, min(-3.0, -19.0 + (rsrp + 140.0) * 0.15)), 1)
    return {"rsrp_dbm": rsrp, "rsrq_db": rsrq, "sinr_db": sinr}


@plugins.register("signal", "sim")
class SimSignal:
    def __init__(self, options: Section, rng: random.Random | None = None) -> None:
        self.mcc = options.int("mcc", 452, min=1, max=999)
        self.mnc = options.int("mnc", 4, min=0, max=999)
        self.tech = options.choice("tech", TECHS, "LTE")
        self.rsrp_dbm = options.float("rsrp_dbm", -95.0, min=-140.0, max=-44.0)
        self.sd_db = options.float("sd_db", 4.0, min=0.0, max=30.0)
        self.dead_dbm = options.float("dead_dbm", -125.0, min=-150.0, max=-44.0)
        self.pci = options.int("pci", 158, min=0, max=1007)
        self.rng = rng or random.Random()

    def read(self) -> SignalReading:
        rsrp = self.rsrp_dbm + self.rng.gauss(0.0, self.sd_db)
        if rsrp < self.dead_dbm:
            sim_op = operator_name(self.mcc, self.mnc)
            return SignalReading(net={"service": False, "sim_op": sim_op}, errors=["no_service"])
        rsrp = round(max(-140.0, min(-44.0, rsrp)), 1)
        noise_db = self.rng.gauss(0, 3)
        net = {
            "service": True,
            "mcc": self.mcc,
            "mnc": self.mnc,
            "tech": self.tech,
            "op": operator_name(self.mcc, self.mnc),
        }
        sig: dict[str, Any]
        if self.tech == "NR-NSA":
            anchor = round(min(-44.0, rsrp + NSA_ANCHOR_DB), 1)
            sig = {**_levels(anchor, noise_db), "pci": self.pci, "band": "B3"}
            sig |= {f"nr_{k}": v for k, v in _levels(rsrp, noise_db).items()}
            sig["nr_band"] = "n78"
        else:
            sig = {**_levels(rsrp, noise_db), "pci": self.pci}
            sig["band"] = "n78" if self.tech == "NR-SA" else "B3"
        return SignalReading(net=net, sig=sig)
