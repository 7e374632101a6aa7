#!/usr/bin/env bash
# drove — integration: `drove run`, one command relayed as if run here.
#
# Usage: run_test.sh PATH/TO/drove
# Its stdout and stderr arrive apart, its exit status (a signal's 128+N)
# is drove run's; files go in (--input) and come back (--output), stdin
# (--stdin) and the environment (--env) reach it; --timeout ends it; the
# same on worker processes (DROVE_SCHEME=processes); usage errors exit 2
# naming the problem; scratch directories that a killed worker left are
# removed by the next. Every command runs under `timeout`.
set -u
DROVE=$(realpath "${1:?usage: run_test.sh PATH/TO/drove}")
TMP=$(mktemp -d /tmp/dvtest-run-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER DROVE_SCHEME
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
# expect WANT_RC WANT_STDOUT WANT_STDERR_PART -- drove run ARGS...
expect() {
    local want_rc=$1 want_out=$2 want_err=$3
    shift 4
    local rc
    timeout 60 "$DROVE" run "$@" >"$TMP/cap.stdout" 2>"$TMP/cap.stderr" </dev/null
    rc=$?
    [ "$rc" = "$want_rc" ] || fail "drove run $*: exit $rc, not $want_rc"
    [ "$(cat "$TMP/cap.stdout")" = "$want_out" ] ||
        fail "drove run $*: stdout '$(cat "$TMP/cap.stdout")', not '$want_out'"
    [ -z "$want_err" ] || grep -qF -- "$want_err" "$TMP/cap.stderr" ||
        fail "drove run $*: stderr '$(cat "$TMP/cap.stderr")' lacks '$want_err'"
}

cd "$TMP" || exit 1
for scheme in threads processes; do
    export DROVE_SCHEME=$scheme
    expect 0 "a  b \$HOME" "" -- -- echo "a  b" '$HOME'
    expect 3 "out" "err" -- --shell 'echo out; echo err >&2; exit 3'
    expect 137 "" "" -- --shell 'kill -9 $$'
    expect 127 "" "cannot run 'drove-nope'" -- drove-nope
    expect 0 "bar" "" -- --env FOO=bar --shell 'echo $FOO'
    start=$(date +%s%N)
    expect 143 "" "timed out after 0.3 s" -- --timeout 0.3 sleep 20
    took=$((($(date +%s%N) - start) / 1000000))
    [ "$took" -lt 10000 ] || fail "--timeout 0.3 took $took ms"

    printf 'hello\n' >data.txt
    rm -rf out
    expect 0 "" "" -- --input data.txt:in/d.txt --output out/ --shell \
        'tr a-z A-Z <in/d.txt >$DROVE_OUT/up.txt; mkdir $DROVE_OUT/s; echo x >$DROVE_OUT/s/y'
    [ "$(cat out/up.txt 2>/dev/null)" = HELLO ] || fail "$scheme: out/up.txt"
    [ "$(cat out/s/y 2>/dev/null)" = x ] || fail "$scheme: out/s/y"
    expect 0 "$TMP" "" -- --workdir . pwd
    out=$(printf 'piped in' | timeout 60 "$DROVE" run --stdin cat)
    [ "$out" = "piped in" ] || fail "$scheme: --stdin gave '$out'"
done
unset DROVE_SCHEME

# A worker killed while its commands ran left their scratch directories:
# the next process on the host to run a command removes those of its
# processes that are gone, and keeps a live one's and another host's.
sleep 0 &
dead=$!
wait "$dead"
host=$(hostname)
mkdir -p "$TMP/tmp/drove-cmd-$host-$dead-stale/out" \
    "$TMP/tmp/drove-cmd-$host-$$-live" "$TMP/tmp/drove-cmd-otherhost-$dead-x"
TMPDIR=$TMP/tmp timeout 60 "$DROVE" run true || fail "drove run true"
[ ! -e "$TMP/tmp/drove-cmd-$host-$dead-stale" ] ||
    fail "the scratch directory of a gone process was left"
[ -d "$TMP/tmp/drove-cmd-$host-$$-live" ] ||
    fail "the scratch directory of a live process was removed"
[ -d "$TMP/tmp/drove-cmd-otherhost-$dead-x" ] ||
    fail "another host's scratch directory was removed"
[ "$(ls "$TMP/tmp" | wc -l)" = 2 ] || fail "drove run left $(ls "$TMP/tmp")"

# Usage errors name the problem and exit 2; --help exits 0.
timeout 10 "$DROVE" run --help | grep -q "usage: drove run" ||
    fail "drove run --help"
expect 2 "" "no command" --
expect 2 "" "unknown option '--bogus'" -- --bogus echo
expect 2 "" "--env 'NOEQUALS'" -- --env NOEQUALS echo
expect 2 "" "--workdir 'rel'" -- --workdir rel echo
expect 2 "" "--input 'missing.txt'" -- --input missing.txt cat
DROVE_SCHEDULER=tcp://127.0.0.1:1 expect 125 "" "127.0.0.1:1" -- echo

if [ "$failures" -gt 0 ]; then
    echo "run_test: $failures failures" >&2
    exit 1
fi
echo "run_test: all passed"
