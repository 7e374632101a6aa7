#!/usr/bin/env bash
# drove — integration: bench/ab.sh compares two builds, here one build with
# itself, and bench_graph says what is wrong with bad options.
#
# Usage: ab_test.sh SOURCE_DIR BUILD_DIR
# Two rounds of two tiny graphs each: each of bench_graph's three figures
# comes back with a median for A and B and their ratio. Every run is under
# `timeout`.
set -u
SRC=${1:?usage: ab_test.sh SOURCE_DIR BUILD_DIR}
BUILD=${2:?usage: ab_test.sh SOURCE_DIR BUILD_DIR}
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

out=$(timeout 120 sh "$SRC/bench/ab.sh" "$BUILD" "$BUILD" 2 --graphs 2 \
    --steps 16 2>&1)
rc=$?
echo "$out"
[ "$rc" -eq 0 ] || fail "ab.sh exited $rc"
for figure in graph.wall_per_task_best graph.wall_per_task_median \
    graph.cpu_per_task; do
    echo "$out" | grep -qE "^$figure: A [0-9.]+ us  B [0-9.]+ us  B/A [0-9.]+ \(medians of 2\)$" ||
        fail "no medians and ratio for $figure"
done

out=$(timeout 60 sh "$SRC/bench/ab.sh" /nonexistent "$BUILD" 2>&1)
rc=$?
[ "$rc" -eq 2 ] || fail "a build that is not there: exit $rc, not 2"
echo "$out" | grep -qF "no /nonexistent/libdrove.so" ||
    fail "a build that is not there is not named: $out"

out=$(timeout 60 sh "$SRC/bench/ab.sh" "$BUILD" "$BUILD" two 2>&1)
rc=$?
[ "$rc" -eq 2 ] || fail "ROUNDS 'two': exit $rc, not 2"
echo "$out" | grep -qF "ROUNDS is 'two'" || fail "ROUNDS 'two' is not named: $out"

out=$(timeout 60 "$BUILD/bench/bench_graph" --graphs 1 2>&1)
rc=$?
[ "$rc" -eq 2 ] || fail "--graphs 1: exit $rc, not 2"
echo "$out" | grep -qF -- "--graphs is out of range" ||
    fail "--graphs 1 is not named: $out"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "ab_test: ok"
