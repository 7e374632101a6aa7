#!/usr/bin/env bash
# drove — integration: the dashboard's page, rendered by a real browser.
#
# Usage: dashboard_page_test.sh PATH/TO/drove OUT_DIR
# A scheduler (`--dashboard 127.0.0.1:0`) with two workers runs commands
# one after another; Debian's headless Chromium (installed when missing)
# loads the page twice, two seconds apart, and the DOM it rendered must
# show both workers and an overall progress figure that advanced. A
# screenshot goes to OUT_DIR/dashboard.png. A scheduler whose dashboard
# listens on every interface serves HTTPS only, with the token. Everything
# started here is killed on exit.
set -u
DROVE=$(realpath "${1:?usage: dashboard_page_test.sh PATH/TO/drove OUT_DIR}")
OUT=${2:?usage: dashboard_page_test.sh PATH/TO/drove OUT_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/dvtest-page-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER DROVE_SCHEME
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 0.3
    for p in "${PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

sh "$HERE/../support/need.sh" chromium chromium ||
    fail "chromium could not be installed"

DROVE_DASHBOARD=127.0.0.1:0 "$DROVE" scheduler --address tcp://127.0.0.1:0 \
    >"$TMP/sched.out" 2>"$TMP/sched.log" &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q "dashboard at" "$TMP/sched.log" && break
    sleep 0.1
done
ADDR=$(head -1 "$TMP/sched.out")
URL=$(grep -o "http://127.0.0.1:[0-9]*/?token=[0-9a-f]*" "$TMP/sched.log")
[ -n "$ADDR" ] && [ -n "$URL" ] || fail "no address or URL: $(cat "$TMP/sched.log")"
for w in w0 w1; do
    "$DROVE" worker --scheduler "$ADDR" --name "$w" --threads 1 \
        >/dev/null 2>"$TMP/$w.log" &
    PIDS+=($!)
done
# A stream of short commands: the settled count keeps rising.
(
    for _ in $(seq 200); do
        DROVE_SCHEDULER=$ADDR timeout 30 "$DROVE" run sleep 0.05 >/dev/null 2>&1
    done
) &
PIDS+=($!)

# render: the page's DOM after its script ran for a second or two.
render() {
    timeout 60 chromium --headless --no-sandbox --disable-gpu \
        --disable-dev-shm-usage --virtual-time-budget=2000 \
        --dump-dom "$URL" 2>/dev/null
}
# settled: the first number of the overall progress figure "S / N".
settled() {
    sed -n 's/.*id="progress">\([0-9]*\) \/ [0-9]*<.*/\1/p' | head -1
}
sleep 2
first=$(render)
sleep 2
second=$(render)
for w in w0 w1; do
    echo "$second" | grep -q "<tr class=\"worker\" data-id=\"$w\">" ||
        fail "the rendered page shows no row for worker $w"
done
a=$(echo "$first" | settled)
b=$(echo "$second" | settled)
[ -n "$a" ] && [ -n "$b" ] || fail "no progress figure in the rendered page"
[ "$b" -gt "$a" ] || fail "the progress did not advance: $a then $b"
mkdir -p "$OUT"
timeout 60 chromium --headless --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --virtual-time-budget=2000 \
    --window-size=1200,1000 --screenshot="$OUT/dashboard.png" "$URL" \
    >/dev/null 2>&1
[ -s "$OUT/dashboard.png" ] || fail "no screenshot"

# Off loopback it serves only HTTPS (the scheduler's certificate), and
# still only with the token.
sh "$HERE/../support/need.sh" curl curl || fail "curl could not be installed"
"$DROVE" scheduler --profile wide --address tcp://127.0.0.1:0 \
    --dashboard 0.0.0.0:0 >"$TMP/wide.out" 2>"$TMP/wide.log" &
PIDS+=($!)
for _ in $(seq 100); do
    grep -q "dashboard at" "$TMP/wide.log" && break
    sleep 0.1
done
WIDE=$(grep -o "https://[^ ]*" "$TMP/wide.log")
PORT=$(echo "$WIDE" | sed 's|https://[^:]*:\([0-9]*\)/.*|\1|')
TOKEN=${WIDE#*token=}
[ -n "$PORT" ] && [ -n "$TOKEN" ] || fail "no https URL: $(cat "$TMP/wide.log")"
code=$(curl -sk -o /dev/null -w "%{http_code}" \
    "https://127.0.0.1:$PORT/api/status?token=$TOKEN")
[ "$code" = 200 ] || fail "https with the token answered $code"
code=$(curl -sk -o /dev/null -w "%{http_code}" "https://127.0.0.1:$PORT/api/status")
[ "$code" = 401 ] || fail "https without the token answered $code"
code=$(curl -s -m 5 -o /dev/null -w "%{http_code}" \
    "http://127.0.0.1:$PORT/api/status?token=$TOKEN")
[ "$code" = 000 ] || fail "plain http off loopback answered $code"
echo "dashboard_page_test: both workers shown, progress $a then $b;" \
    "screenshot in $OUT/dashboard.png; off loopback: https only"
