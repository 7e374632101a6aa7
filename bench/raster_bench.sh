#!/bin/sh
# GeoTrellis's local.Add of five rasters: drove's raster_add example (the
# tiles form, a task per 512 x 512 tile) on local:processes=2 against
# GDAL's gdal_calc.py, on the same five 4096 x 4096 float32 GeoTIFFs
# (tiled 512 x 512), written once and then read from the page cache by
# both. Each figure is the median over the runs of a whole process's wall
# time, start to exit: for drove, starting its two worker processes,
# adding and writing sum.tif (--reuse: the inputs already there;
# --no-check: not reading it back); for gdal_calc, the Python start-up,
# adding and writing its output, with the same creation options. The two
# alternate, the order swapped every other pair, so that the machine's
# drift hits both.
#
#   raster_add.drove_s                 drove, s
#   raster_add.gdal_calc_s             gdal_calc.py, s
#   raster_add.speedup_vs_gdal_calc    gdal_calc / drove, x (goal: >= 1.5
#                                      on two cores)
#
# Each pair's times go to stderr, with drove's stages of its first run and
# what gdal_calc's interpreter takes to import GDAL and numpy (its share of
# the start-up); the two outputs must have the same GDAL checksum
# (gdalinfo -checksum).
#
# usage: sh bench/raster_bench.sh BUILD_DIR [RUNS]   (RUNS: 5)
set -u
build=${1:?usage: sh bench/raster_bench.sh BUILD_DIR [RUNS]}
runs=${2:-5}
prog=$build/examples/raster_add
calc=$(command -v gdal_calc.py)
na() {
    echo "bench: raster_add: $1" >&2
    echo "raster_add.drove_s: n/a s"
    echo "raster_add.gdal_calc_s: n/a s"
    echo "raster_add.speedup_vs_gdal_calc: n/a x"
    exit "$2"
}
[ -x "$prog" ] || na "$prog not built (GDAL missing? libgdal-dev)" 0
[ -n "$calc" ] || na "no gdal_calc.py (apt-get install gdal-bin python3-gdal)" 0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drove-raster-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The inputs, written and checked once by a full run.
"$prog" --dir "$tmp" --keep local:processes=2 >"$tmp/first.log" 2>&1 ||
    { cat "$tmp/first.log" >&2; na "the first run failed" 1; }
grep '^raster_add\.' "$tmp/first.log" | sed 's/^/bench: first run: /' >&2

now() {
    date +%s.%N
}
# timed NAME COMMAND...: appends "NAME SECONDS" to $tmp/times.
timed() {
    name=$1
    shift
    t0=$(now)
    "$@" >"$tmp/run.log" 2>&1 ||
        { cat "$tmp/run.log" >&2; na "$name failed" 1; }
    t1=$(now)
    awk -v n="$name" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "%s %.4f\n", n, b - a }' >>"$tmp/times"
}
drove() {
    timed drove "$prog" --dir "$tmp" --keep --reuse --no-check \
        local:processes=2
}
gdal_calc() {
    timed gdal_calc "$calc" -A "$tmp/r1.tif" -B "$tmp/r2.tif" \
        -C "$tmp/r3.tif" -D "$tmp/r4.tif" -E "$tmp/r5.tif" \
        --calc "A+B+C+D+E" --outfile "$tmp/gdal_sum.tif" --type Float32 \
        --co TILED=YES --co BLOCKXSIZE=512 --co BLOCKYSIZE=512 \
        --overwrite --quiet
}
: >"$tmp/times"
i=0
while [ "$i" -lt "$runs" ]; do
    i=$((i + 1))
    if [ $((i % 2)) = 1 ]; then
        drove
        gdal_calc
    else
        gdal_calc
        drove
    fi
done

python=$(sed -n '1s/^#! *//p' "$calc")
timed python_imports ${python:-python3} -c 'from osgeo import gdal
import numpy'
sums=$(for f in sum gdal_sum; do
    gdalinfo -checksum "$tmp/$f.tif" | sed -n 's/.*Checksum=//p'
done | sort -u | wc -l)
[ "$sums" = 1 ] || na "drove's sum.tif and gdal_calc's differ" 1

awk '
    { n[$1]++; v[$1, n[$1]] = $2 }
    function median(name,    k, i, j, t, a) {
        k = n[name]
        for (i = 1; i <= k; i++) a[i] = v[name, i]
        for (i = 1; i <= k; i++)
            for (j = i + 1; j <= k; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    END {
        for (i = 1; i <= n["drove"]; i++)
            printf "bench: raster_add run %d: drove %.3f s, gdal_calc " \
                "%.3f s\n", i, v["drove", i], v["gdal_calc", i] > "/dev/stderr"
        printf "bench: raster_add: gdal_calc'"'"'s imports of GDAL and " \
            "numpy: %.3f s\n", v["python_imports", 1] > "/dev/stderr"
        d = median("drove"); g = median("gdal_calc")
        printf "raster_add.drove_s: %.3f s\n", d
        printf "raster_add.gdal_calc_s: %.3f s\n", g
        printf "raster_add.speedup_vs_gdal_calc: %.2f x\n", g / d
    }' "$tmp/times"
