#!/bin/sh
# deps.sh: install, with apt-get, the Debian packages plumb builds, tests and
# benchmarks with, when any is missing. Safe to run again: it only installs
# what dpkg does not already have.
set -eu

# libpq-dev lets plumb sql reach PostgreSQL; postgresql is the server its
# tests start (tests/pgserver.py), python3-psycopg2 the driver the tracer
# hooks. The last three are peers `make bench` measures plumb against:
# memory_profiler and Scalene in bench/mem_overhead.py, yappi and Scalene
# in bench/profile_overhead.py.
packages="gcc make pkg-config libsqlite3-dev libjansson-dev libcmocka-dev \
libpq-dev postgresql python3-psycopg2 \
valgrind python3 python3-dev python3-pytest python3-numpy hyperfine git clang \
libclang-rt-14-dev python3-memory-profiler python3-scalene python3-yappi"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "plumb: installing missing packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "plumb: need root to install:$missing" >&2
    echo "plumb: run as root: apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
