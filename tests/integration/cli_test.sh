#!/usr/bin/env bash
# drove — integration: the command line's help, errors and exit codes.
#
# Usage: cli_test.sh PATH/TO/drove
# A user types `drove --help` and reads a usage; mistypes an option and is
# told which; points a worker at a scheduler that is not there and is told
# where it tried, with a non-zero exit instead of a hang. Every command runs
# under `timeout`; the scheduler started here is killed on exit.
set -u
DROVE=${1:?usage: cli_test.sh PATH/TO/drove}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/dvtest-cli-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER
SCHED_PID=
RUN_LIMIT=20
. "$HERE/../support/shtest.sh"

# alive PID: the process exists and is not a zombie (kill -0 succeeds on
# zombies, which our own exited children are until waited for).
alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}

cleanup() {
    if [ -n "$SCHED_PID" ]; then
        kill -TERM "$SCHED_PID" 2>/dev/null
        for _ in $(seq 50); do
            alive "$SCHED_PID" || break
            sleep 0.1
        done
        kill -KILL "$SCHED_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# --help on the command and on each daemon: exit 0 and a usage on stdout.
for args in "--help" "scheduler --help" "worker --help"; do
    name="help-${args%% *}"
    # shellcheck disable=SC2086
    run "$name" "$DROVE" $args
    if [ "$rc" != 0 ]; then
        fail "drove $args exited $rc, want 0"
        show "$name"
    elif ! grep -qi "usage" "$TMP/$name.out"; then
        fail "drove $args printed no usage on stdout"
        show "$name"
    fi
done
# Each daemon's help lists its own options.
grep -q -- "--address" "$TMP/help-scheduler.out" ||
    fail "drove scheduler --help does not mention --address"
grep -q -- "--scheduler" "$TMP/help-worker.out" ||
    fail "drove worker --help does not mention --scheduler"
grep -q -- "--threads" "$TMP/help-worker.out" ||
    fail "drove worker --help does not mention --threads"

# Unknown options: non-zero, and the message names the option.
for args in "--no-such-option" "scheduler --no-such-option" \
    "worker --no-such-option"; do
    name="bad-${args%% *}"
    # shellcheck disable=SC2086
    run "$name" "$DROVE" $args
    if [ "$rc" = 0 ]; then
        fail "drove $args exited 0, want non-zero"
        show "$name"
    elif ! grep -q -- "--no-such-option" "$TMP/$name.err"; then
        fail "drove $args: the error does not name --no-such-option"
        show "$name"
    fi
done

# An unknown command is named too.
run bad-command "$DROVE" no-such-command
if [ "$rc" = 0 ]; then
    fail "drove no-such-command exited 0"
elif ! grep -q "no-such-command" "$TMP/bad-command.err"; then
    fail "drove no-such-command: the error does not name it"
    show bad-command
fi

grep -q -- "--connect-timeout" "$TMP/help-worker.out" ||
    fail "drove worker --help does not mention --connect-timeout"
grep -q -- "DROVE_WORKER_CONNECT_TIMEOUT" "$TMP/help-worker.out" ||
    fail "drove worker --help does not mention DROVE_WORKER_CONNECT_TIMEOUT"
grep -q -- "--grace" "$TMP/help-worker.out" ||
    fail "drove worker --help does not mention --grace"
grep -q -- "--reconnect-grace" "$TMP/help-worker.out" ||
    fail "drove worker --help does not mention --reconnect-grace"
grep -q -- "--heartbeat-timeout" "$TMP/help-scheduler.out" ||
    fail "drove scheduler --help does not mention --heartbeat-timeout"

# A heartbeat timeout shorter than two heartbeats is refused, named.
run badbeat "$DROVE" scheduler --heartbeat 5 --heartbeat-timeout 6
if [ "$rc" != 2 ] || ! grep -q -- "--heartbeat-timeout 6 is less than" \
    "$TMP/badbeat.err"; then
    fail "drove scheduler --heartbeat 5 --heartbeat-timeout 6: rc $rc"
    show badbeat
fi

# Before any scheduler made the profile, a worker has neither an address
# nor a certificate: it waits --connect-timeout for them, then says which
# profile lacks what.
run noprofile "$DROVE" worker --threads 1 --connect-timeout 1
if [ "$rc" = 0 ] || ! grep -q "profile 'default'.*no connection file" \
    "$TMP/noprofile.err"; then
    fail "drove worker without a profile: the error does not say so"
    show noprofile
fi
run nocreds "$DROVE" worker --scheduler tcp://127.0.0.1:1 --threads 1 \
    --connect-timeout 1
if [ "$rc" = 0 ] || ! grep -q "authentication failed: no credentials" \
    "$TMP/nocreds.err"; then
    fail "drove worker without credentials: the error does not say so"
    show nocreds
fi

# The scheduler prints exactly its address on stdout, and exits on SIGTERM.
"$DROVE" scheduler --address tcp://127.0.0.1:0 >"$TMP/sched.out" \
    2>"$TMP/sched.err" &
SCHED_PID=$!
addr=
for _ in $(seq 200); do
    if [ -s "$TMP/sched.out" ] && grep -q . "$TMP/sched.out"; then
        addr=$(head -n 1 "$TMP/sched.out")
        break
    fi
    alive "$SCHED_PID" || break
    sleep 0.05
done
if ! [[ "$addr" =~ ^tcp://127\.0\.0\.1:[0-9]+$ ]] || [ "${addr##*:}" = 0 ]
then
    fail "drove scheduler printed '$addr', want tcp://127.0.0.1:PORT"
    show sched
else
    # A second scheduler on the same profile is refused, naming it.
    run second "$DROVE" scheduler --address tcp://127.0.0.1:0
    if [ "$rc" = 0 ] ||
        ! grep -q "profile 'default'.*has a scheduler running already" \
            "$TMP/second.err"; then
        fail "a second scheduler on profile default was not refused"
        show second
    fi
    kill -TERM "$SCHED_PID"
    gone=0
    for _ in $(seq 100); do
        if ! alive "$SCHED_PID"; then
            gone=1
            break
        fi
        sleep 0.05
    done
    if [ "$gone" = 1 ]; then
        wait "$SCHED_PID" 2>/dev/null
        SCHED_PID=
    else
        fail "drove scheduler still running 5 s after SIGTERM"
        show sched
    fi
    lines=$(wc -l <"$TMP/sched.out")
    [ "$lines" = 1 ] || fail "drove scheduler printed $lines lines on stdout"
fi


# The scheduler made the profile: workers find its certificate.
# A worker whose scheduler is not there (port 1: nothing listens) keeps
# trying for --connect-timeout seconds, then names the address.
run noscheduler "$DROVE" worker --scheduler tcp://127.0.0.1:1 --threads 1 \
    --connect-timeout 1
if [ "$rc" = 0 ]; then
    fail "drove worker --scheduler tcp://127.0.0.1:1 exited 0"
    show noscheduler
elif ! grep -q "no scheduler answered at tcp://127.0.0.1:1 within 1 s" \
    "$TMP/noscheduler.err"; then
    fail "drove worker: the error does not name tcp://127.0.0.1:1"
    show noscheduler
fi
# The same timeout from the environment.
DROVE_WORKER_CONNECT_TIMEOUT=1 run noscheduler-env "$DROVE" worker \
    --scheduler tcp://127.0.0.1:1 --threads 1
if ! grep -q "within 1 s" "$TMP/noscheduler-env.err"; then
    fail "drove worker ignores DROVE_WORKER_CONNECT_TIMEOUT"
    show noscheduler-env
fi

# A bad --contact-address is named.
run badcontact "$DROVE" worker --scheduler tcp://127.0.0.1:1 --threads 1 \
    --contact-address bogus
if [ "$rc" = 0 ] || ! grep -q "fetch from bogus" "$TMP/badcontact.err"; then
    fail "drove worker --contact-address bogus: the error does not name it"
    show badcontact
fi

# A bad --listen is blamed, not the scheduler.
run badlisten "$DROVE" worker --scheduler tcp://127.0.0.1:1 --threads 1 \
    --listen bogus
if [ "$rc" = 0 ]; then
    fail "drove worker --listen bogus exited 0"
    show badlisten
elif ! grep -q "cannot listen for peers on bogus" "$TMP/badlisten.err" ||
    grep -q "scheduler" "$TMP/badlisten.err"; then
    fail "drove worker --listen bogus: the error does not blame --listen"
    show badlisten
fi

if [ "$failures" != 0 ]; then
    echo "cli_test: $failures failure(s)" >&2
    exit 1
fi
echo "cli_test: all passed"
