#!/bin/sh
# Compares two builds of drove on one METG point, interleaved: this
# machine's speed swings within seconds, so a figure read minutes apart
# from another's says little, and two builds are read turn about.
#
#   sh bench/ab.sh BUILD_A BUILD_B [ROUNDS] [bench_graph options...]
#
# BUILD_A and BUILD_B are build directories holding libdrove.so; BUILD_B
# holds bench/bench_graph too, which runs both sides, A's with A's library
# (LD_LIBRARY_PATH; the workers of local:processes run it too). For a
# commit, `git worktree add DIR COMMIT`, then `cmake -S DIR -B DIR/build
# -DCMAKE_BUILD_TYPE=Release -DDV_TESTS=OFF` and build it. Each of ROUNDS
# rounds (8) runs bench_graph on A, then on B, with the options given
# (default: bench_graph's, 20 graphs of trivial at iter 0 on
# local:threads=2). Prints each figure's median over the rounds for A and
# B, and B/A: under 1, B is faster or does less work.
set -eu

usage() {
    echo "usage: sh bench/ab.sh BUILD_A BUILD_B [ROUNDS] [bench_graph options...]"
    echo "  e.g. sh bench/ab.sh /tmp/base/build build-bench 10 --iter 2048"
}

case "${1:-}" in -h | --help) usage; exit 0 ;; esac
if [ $# -lt 2 ]; then
    usage >&2
    exit 2
fi
a=$1
b=$2
shift 2
rounds=8
case "${1:-}" in
'' | -*) ;;
*) rounds=$1; shift ;;
esac
case "$rounds" in
'' | 0 | *[!0-9]*)
    echo "ab.sh: ROUNDS is '$rounds': want a whole number above 0" >&2
    exit 2
    ;;
esac
graph=$b/bench/bench_graph
if [ ! -x "$graph" ]; then
    echo "ab.sh: no $graph: build BUILD_B first" >&2
    exit 2
fi
for build in "$a" "$b"; do
    if [ ! -e "$build/libdrove.so" ]; then
        echo "ab.sh: no $build/libdrove.so: build it first" >&2
        exit 2
    fi
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM
i=0
while [ "$i" -lt "$rounds" ]; do
    for side in A B; do
        if [ "$side" = A ]; then lib=$a; else lib=$b; fi
        LD_LIBRARY_PATH=$lib "$graph" "$@" | sed "s/^/$side /" >>"$out"
    done
    i=$((i + 1))
done

# "A graph.x: v us" lines: the median of each (side, figure), then B/A.
sort -k2,2 -k1,1 -k3,3g "$out" | awk '
function median(name, side,   n, m) {
    n = count[side, name]
    m = int((n + 1) / 2)
    return n % 2 ? val[side, name, m] : (val[side, name, m] + val[side, name, m + 1]) / 2
}
{
    k = ++count[$1, $2]
    val[$1, $2, k] = $3
    unit[$2] = $4
    if (!($2 in seen)) { seen[$2] = 1; names[++n] = $2 }
}
END {
    for (i = 1; i <= n; i++) {
        f = names[i]
        ma = median(f, "A"); mb = median(f, "B")
        printf "%s A %.2f %s  B %.2f %s  B/A %.3f (medians of %d)\n", f, ma, unit[f], mb, unit[f], (ma > 0 ? mb / ma : 0), count["A", f]
    }
}'
