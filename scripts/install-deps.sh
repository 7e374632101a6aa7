#!/bin/sh
# Installs the Debian packages drove builds, tests and benchmarks with, when
# they are missing. Does nothing when all are present; needs root otherwise.
set -e
# libgdal-dev: GDAL, which the raster_add example (and only it) links.
# parallel: GNU parallel, which map_test.sh and bench_map.sh compare
# `drove map` with.
pkgs="build-essential cmake pkg-config libuv1-dev libssl-dev libmsgpack-dev
libsodium-dev libsqlite3-dev libjansson-dev libmicrohttpd-dev libmimalloc-dev
libcmocka-dev clang-format
libgdal-dev parallel"
# Optional extras for `make bench`: dask's distributed, and GDAL's
# gdal_calc.py (gdal-bin, python3-gdal), measured beside us.
[ "${DV_DEPS_BENCH:-0}" = 1 ] &&
    pkgs="$pkgs python3-distributed gdal-bin python3-gdal"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: not root; run: sudo apt-get install$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
