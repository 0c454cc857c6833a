#!/usr/bin/env bash
# Install the system packages giamsat's demo, tests and benchmarks use, then
# TimescaleDB. Idempotent and quiet: does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# command-or-file -> Debian package
declare -A NEED=(
    [mosquitto]=mosquitto
    [/usr/lib/postgresql/15/bin/initdb]=postgresql-15
    [psql]=postgresql-client-15
    [ip]=iproute2
    [tc]=iproute2
    [iperf3]=iperf3
    [chromium]=chromium
    [chromedriver]=chromium-driver
    [pdftotext]=poppler-utils
    [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]=fonts-dejavu-core
    [cmake]=cmake
    [gcc]=gcc
    [make]=make
    [runuser]=util-linux
    [gpsd]=gpsd
    [gpsfake]=gpsd-clients
)
missing=()
for what in "${!NEED[@]}"; do
    if [[ "$what" == /* ]]; then
        [ -e "$what" ] || missing+=("${NEED[$what]}")
    else
        command -v "$what" >/dev/null 2>&1 || missing+=("${NEED[$what]}")
    fi
done
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)

if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "install-deps: installing ${missing[*]}" >&2
    mkdir -p .state
    {
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
    } >.state/apt.log 2>&1 || { tail -n 30 .state/apt.log >&2; echo "install-deps: apt-get failed (log: .state/apt.log)" >&2; exit 1; }
    # Debian starts a system broker on 1883 when it installs mosquitto; ours use their own ports.
fi

bash scripts/install-timescaledb.sh
