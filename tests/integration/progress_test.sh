#!/usr/bin/env bash
# drove — integration: dv_progress's bar, as a user at a terminal sees it.
#
# Usage: progress_test.sh PATH/TO/progress_prog
# progress_prog waits for 200 naps on local:threads=2 (4 of them failing)
# with dv_progress. Under a pseudo-terminal (script(1) from util-linux)
# the output shows the bar with its label, 200/200, 100% and the 4 erred,
# and the program's next line starts on a line of its own (the bar ended
# with a newline). A wait that times out ends its bar the same way. In a
# pipe, stderr gets nothing: it is plain dv_wait. Every run is under
# `timeout`.
set -u
PROG=${1:?usage: progress_test.sh PATH/TO/progress_prog}
TMP=$(mktemp -d /tmp/dvtest-progress-XXXXXX)
failures=0
trap 'rm -rf "$TMP"' EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

show() {
    echo "---- $1 ----" >&2
    cat -v "$TMP/$1" >&2
}

# has FILE TEXT: the file contains TEXT.
has() {
    if ! grep -qaF -- "$2" "$TMP/$1"; then
        fail "$1 does not contain '$2'"
        show "$1"
    fi
}

if ! command -v script >/dev/null; then
    echo "progress_test: script(1) (util-linux) is missing: skipped" >&2
    exit 77
fi

# On a terminal: the bar, complete, then the program's line on its own.
# (script runs the command on a pseudo-terminal: stdout and stderr both
# reach the terminal, and so the capture; it turns \n into \r\n.)
timeout -k 5 60 script -qfec "$PROG 200" /dev/null </dev/null \
    >"$TMP/tty.out" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "progress_prog on a terminal exited $rc"
has tty.out "naps: ["
has tty.out "200/200"
has tty.out "100%"
has tty.out "4 erred"
has tty.out "ETA"
# The last redraw is the complete one, and a newline ends it: the
# program's "rc=0" is a line of its own.
last=$(tr '\r' '\n' <"$TMP/tty.out" | grep -a 'naps: \[' | tail -n 1)
case "$last" in
*"200/200 100%"*) ;;
*) fail "the last bar drawn is '$last', not the complete one" ;;
esac
if ! grep -qa $'^rc=0\r$' "$TMP/tty.out"; then
    fail "the bar did not end with a newline before the program's output"
    show tty.out
fi

# A wait that times out: DV_ETIMEDOUT (-3), and the bar ended all the same.
timeout -k 5 60 script -qfec "$PROG 200 0.3 50" /dev/null </dev/null \
    >"$TMP/timeout.out" 2>&1
has timeout.out "naps: ["
if ! grep -qa $'^rc=-3\r$' "$TMP/timeout.out"; then
    fail "a timed-out dv_progress did not return DV_ETIMEDOUT on a line of \
its own"
    show timeout.out
fi
has timeout.out "of 200 futures done after 0.3 s"

# In a pipe: the same wait, and not a character of a bar.
timeout -k 5 60 "$PROG" 200 2>"$TMP/pipe.err" | cat >"$TMP/pipe.out"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || fail "progress_prog in a pipe exited $rc"
has pipe.out "rc=0"
if [ -s "$TMP/pipe.err" ]; then
    fail "in a pipe, stderr is not empty"
    show pipe.err
fi

if [ "$failures" != 0 ]; then
    echo "progress_test: $failures failure(s)" >&2
    exit 1
fi
echo "progress_test: all passed"
