#!/usr/bin/env bash
# Build and install the Apache-licensed TimescaleDB extension for the machine's
# PostgreSQL 15. Debian bookworm ships PostgreSQL 15 but no TimescaleDB, so we
# build Debian trixie's source package. Idempotent: does nothing when the
# extension is already installed. Quiet unless something fails (log kept).
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
EXT_DIR="/usr/share/postgresql/${PG_MAJOR}/extension"
STATE_DIR="${GIAMSAT_STATE:-$(cd "$(dirname "$0")/.." && pwd)/.state}"
WORK="${STATE_DIR}/build/timescaledb"
LOG="${STATE_DIR}/build/timescaledb.log"

if ls "${EXT_DIR}"/timescaledb--*.sql >/dev/null 2>&1 && [ -e "${EXT_DIR}/timescaledb.control" ]; then
    exit 0
fi

mkdir -p "${WORK}"
: >"${LOG}"
fail() {
    echo "install-timescaledb: $1 (log: ${LOG})" >&2
    tail -n 30 "${LOG}" >&2 || true
    exit 1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_pkgs=()
[ -e "/usr/include/postgresql/${PG_MAJOR}/server/postgres.h" ] || need_pkgs+=("postgresql-server-dev-${PG_MAJOR}")
command -v cmake >/dev/null || need_pkgs+=(cmake)
command -v gcc >/dev/null || need_pkgs+=(gcc)
command -v make >/dev/null || need_pkgs+=(make)
dpkg -s libssl-dev >/dev/null 2>&1 || need_pkgs+=(libssl-dev)
dpkg -s "postgresql-${PG_MAJOR}" >/dev/null 2>&1 || need_pkgs+=("postgresql-${PG_MAJOR}")
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    echo "install-timescaledb: installing ${need_pkgs[*]}" >&2
    { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_pkgs[@]}"; } >>"${LOG}" 2>&1 \
        || fail "apt-get install ${need_pkgs[*]} failed"
fi

# The Debian mirror this machine already uses, so we reach nothing new.
MIRROR="$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -v -- '-security' | grep -m1 -oE 'https?://[^ ]+/debian' || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

APT_DIR="${WORK}/apt"
mkdir -p "${APT_DIR}/lists/partial"
echo "deb-src ${MIRROR} trixie main" >"${APT_DIR}/sources.list"
APT_OPTS=(-o "Dir::Etc::SourceList=${APT_DIR}/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
          -o "Dir::State::Lists=${APT_DIR}/lists" -o "APT::Sandbox::User=root")
echo "install-timescaledb: building TimescaleDB (Apache edition) from Debian trixie source, about a minute" >&2
apt-get "${APT_OPTS[@]}" update -q >>"${LOG}" 2>&1 || fail "apt-get update of the trixie deb-src list failed"
(cd "${WORK}" && apt-get "${APT_OPTS[@]}" source --download-only -q timescaledb) >>"${LOG}" 2>&1 \
    || fail "apt-get source timescaledb failed"

ORIG="$(ls "${WORK}"/timescaledb_*.orig.tar.* | head -n1)"
SRC="${WORK}/src"
rm -rf "${SRC}" && mkdir -p "${SRC}"
tar -xf "${ORIG}" -C "${SRC}" --strip-components=1 >>"${LOG}" 2>&1 || fail "unpacking ${ORIG} failed"
(
    cd "${SRC}"
    export PATH="/usr/lib/postgresql/${PG_MAJOR}/bin:${PATH}"
    ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF \
        -DPG_CONFIG="${PG_CONFIG}"
    make -C build -j"$(nproc)"
    $SUDO make -C build install
) >>"${LOG}" 2>&1 || fail "building TimescaleDB failed"

ls "${EXT_DIR}"/timescaledb--*.sql >/dev/null 2>&1 || fail "TimescaleDB built but its SQL files are not in ${EXT_DIR}"
echo "install-timescaledb: installed into ${EXT_DIR}" >&2
