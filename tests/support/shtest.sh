# The helpers of the shell integration tests, sourced (bash) once TMP is
# set: fail counts a failure, run runs a command under a time limit
# (RUN_LIMIT seconds, 30 by default) into $TMP/NAME.out and .err, show
# prints what a run wrote, kill_pids ends the daemons listed in PIDS.
failures=0
PIDS=

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME CMD...: sets rc; stdin is the caller's.
run() {
    local name=$1 limit=${RUN_LIMIT:-30}
    shift
    timeout -k 5 "$limit" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$name: '$*' did not finish within $limit s"
    fi
}

show() {
    echo "---- $1: stdout ----" >&2
    head -n 60 "$TMP/$1.out" >&2
    echo "---- $1: stderr ----" >&2
    head -n 60 "$TMP/$1.err" >&2
}

# SIGTERM to every process in PIDS, then SIGKILL to what is left.
kill_pids() {
    for pid in $PIDS; do
        kill -TERM "$pid" 2>/dev/null
    done
    sleep 0.3
    for pid in $PIDS; do
        kill -KILL "$pid" 2>/dev/null
    done
}
