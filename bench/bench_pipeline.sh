#!/bin/sh
# drove pipeline over 100,000 small files (100 directories x 1,000), glob
# "/*": one datum per directory. Prints `name: value unit`:
#
#   pipeline.files                      the files in the input
#   pipeline.first_run_s                the first run: every file hashed,
#                                       100 datums run (`true`) on the
#                                       embedded default cluster
#   pipeline.noop_rerun_s               a re-run with nothing changed:
#                                       every file recognised by its stat
#                                       (size, mtime ns, inode) in the
#                                       SQLite cache, no datum run, no
#                                       cluster started (median of 3)
#   pipeline.one_change_rerun_s         a re-run after one file changed:
#                                       that file read again, its datum
#                                       (1,000 files) run again
#
# usage: sh bench/bench_pipeline.sh BUILD_DIR
set -u
build=${1:?usage: sh bench/bench_pipeline.sh BUILD_DIR}
drove=$build/drove
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drove-bench-pipeline.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export DROVE_HOME="$tmp/home"
unset DROVE_SCHEDULER DROVE_SCHEME

# Seconds since the epoch, to the millisecond.
now() {
    date +%s.%N
}
# elapsed START: seconds since START, three decimals.
elapsed() {
    echo "$(now) $1" | awk '{ printf "%.3f", $1 - $2 }'
}

mkdir -p "$tmp/data"
i=0
while [ $i -lt 100 ]; do
    d="$tmp/data/d$i"
    mkdir "$d"
    # 1,000 files of a few bytes each, made by one awk per directory.
    awk -v d="$d" 'BEGIN { for (j = 0; j < 1000; j++) {
        f = d "/f" j ".txt"; print "file " j > f; close(f) } }'
    i=$((i + 1))
done
cat >"$tmp/spec.json" <<SPEC
{
  "pipeline": {"name": "bench"},
  "input": {"pfs": {"repo": "data", "glob": "/*"}},
  "transform": {"cmd": ["true"]}
}
SPEC
echo "pipeline.files: $(find "$tmp/data" -type f | wc -l) files"

t=$(now)
if ! "$drove" pipeline run "$tmp/spec.json" >"$tmp/first.out" 2>&1; then
    cat "$tmp/first.out" >&2
    exit 1
fi
echo "pipeline.first_run_s: $(elapsed "$t") s"

: >"$tmp/noop"
for _ in 1 2 3; do
    t=$(now)
    "$drove" pipeline run "$tmp/spec.json" >"$tmp/noop.out" 2>&1 || exit 1
    elapsed "$t" >>"$tmp/noop"
    echo >>"$tmp/noop"
    if ! grep -q "0 processed, 100 skipped" "$tmp/noop.out"; then
        echo "bench_pipeline: the no-op re-run processed something:" >&2
        cat "$tmp/noop.out" >&2
        exit 1
    fi
done
echo "pipeline.noop_rerun_s: $(sort -n "$tmp/noop" | sed -n 2p) s"

echo changed >>"$tmp/data/d50/f500.txt"
t=$(now)
"$drove" pipeline run "$tmp/spec.json" >"$tmp/one.out" 2>&1 || exit 1
echo "pipeline.one_change_rerun_s: $(elapsed "$t") s"
grep -q "1 processed, 99 skipped" "$tmp/one.out" || {
    echo "bench_pipeline: one change did not process one datum:" >&2
    cat "$tmp/one.out" >&2
    exit 1
}
