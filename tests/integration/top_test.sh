#!/usr/bin/env bash
# drove — integration: `drove top`, as a user watching a cluster sees it.
#
# Usage: top_test.sh PATH/TO/drove
# A scheduler (port chosen at run time) and two workers named topw-a and
# topw-b run under a temporary DROVE_HOME. On a pseudo-terminal (script(1)
# from util-linux) `drove top` shows the scheduler's address and both
# workers, redraws, quits on 'q' with status 0 and gives the screen back
# (it leaves the alternate screen and shows the cursor again). `drove top
# --once` in a pipe prints both workers without an escape code, by the
# profile and by --scheduler. A scheduler that is not there is named, with
# exit 1; mistakes in options give exit 2. Every command runs under
# `timeout`; what is started here is killed on exit.
set -u
DROVE=${1:?usage: top_test.sh PATH/TO/drove}
TMP=$(mktemp -d /tmp/dvtest-top-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER DROVE_PROFILE
PIDS=()
failures=0

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

show() {
    echo "---- $1: stdout ----" >&2
    cat -v "$TMP/$1.out" >&2
    echo "---- $1: stderr ----" >&2
    cat "$TMP/$1.err" >&2
}

# run NAME CMD...: runs CMD with a 20 s limit, stdout to $TMP/NAME.out,
# stderr to $TMP/NAME.err; sets rc.
run() {
    local name=$1
    shift
    timeout -k 5 20 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$name: '$*' did not finish within 20 s"
    fi
}

# has NAME out|err TEXT: the run's stdout or stderr contains TEXT.
has() {
    if ! grep -qaF -- "$3" "$TMP/$1.$2"; then
        fail "$1: std$2 does not contain '$3'"
        show "$1"
    fi
}

want_rc() {
    if [ "$rc" != "$2" ]; then
        fail "$1: exited $rc, want $2"
        show "$1"
    fi
}

logs() {
    for f in "$TMP"/sched.err "$TMP"/worker-*.err; do
        echo "---- $f ----" >&2
        cat "$f" >&2
    done
}

# ---- Without a cluster: mistakes and a scheduler that is not there ---------

run help "$DROVE" top --help
want_rc help 0
has help out "usage: drove top"
for opt in --profile --scheduler --interval --once; do
    has help out "$opt"
done
run bad-option "$DROVE" top --no-such-option
want_rc bad-option 2
has bad-option err "--no-such-option"
run bad-interval "$DROVE" top --interval 0
want_rc bad-interval 2
has bad-interval err "--interval"
run noprofile "$DROVE" top --once
want_rc noprofile 1
has noprofile err "profile 'default'"

# ---- A scheduler and two workers -------------------------------------------

"$DROVE" scheduler --address tcp://127.0.0.1:0 >"$TMP/sched.out" \
    2>"$TMP/sched.err" &
PIDS+=($!)
addr=
for _ in $(seq 200); do
    addr=$(head -n 1 "$TMP/sched.out" 2>/dev/null)
    [ -n "$addr" ] && break
    sleep 0.05
done
if ! [[ "$addr" =~ ^tcp://127\.0\.0\.1:[0-9]+$ ]]; then
    fail "the scheduler printed '$addr', not its address"
    logs
    exit 1
fi
for w in a b; do
    "$DROVE" worker --scheduler "$addr" --threads 1 --name "topw-$w" \
        >"$TMP/worker-$w.out" 2>"$TMP/worker-$w.err" &
    PIDS+=($!)
done
# Both workers joined: what --once says (it also proves the pipe case).
for _ in $(seq 200); do
    run once "$DROVE" top --once
    grep -q topw-a "$TMP/once.out" && grep -q topw-b "$TMP/once.out" && break
    sleep 0.1
done
want_rc once 0
has once out "topw-a"
has once out "topw-b"
has once out "$addr"
has once out "workers 2"
has once out "STATE"
if grep -qa $'\033' "$TMP/once.out"; then
    fail "drove top --once in a pipe wrote escape codes"
    show once
fi
[ "$failures" = 0 ] || logs

# The same by address.
run once-addr "$DROVE" top --scheduler "$addr" --once
want_rc once-addr 0
has once-addr out "topw-a"
has once-addr out "topw-b"

# On a terminal: pictures redrawn until 'q'.
if command -v script >/dev/null; then
    (sleep 2.5; printf q) |
        timeout -k 5 20 script -qfec "$DROVE top --interval 0.3" /dev/null \
            >"$TMP/tty.out" 2>"$TMP/tty.err"
    rc=$?
    want_rc tty 0
    has tty out "topw-a"
    has tty out "topw-b"
    has tty out "$addr"
    has tty out $'\033[?1049h' # took the screen
    pictures=$(grep -ao "drove top - scheduler" "$TMP/tty.out" | wc -l)
    [ "$pictures" -ge 3 ] ||
        fail "drove top drew $pictures pictures in 2.5 s at --interval 0.3"
    # Gave it back: the cursor shown and the alternate screen left, last.
    tail -c 20 "$TMP/tty.out" | grep -qaF $'\033[?25h\033[?1049l' ||
        fail "drove top did not restore the terminal when it quit"
else
    echo "top_test: script(1) is missing: the terminal case is skipped" >&2
fi

# ---- A scheduler that is not there -----------------------------------------

run noscheduler "$DROVE" top --scheduler tcp://127.0.0.1:1 --once
want_rc noscheduler 1
has noscheduler err "tcp://127.0.0.1:1"

if [ "$failures" != 0 ]; then
    echo "top_test: $failures failure(s)" >&2
    exit 1
fi
echo "top_test: all passed"
