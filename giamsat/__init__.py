"""giamsat: continuous monitoring of mobile network quality against QCVN 4G/5G standards."""
