#!/bin/sh
# A result moved between workers on two hosts, against plain TCP over the
# same link: bench_link (its top says what it prints) on two hosts played
# by network namespaces, A and B, joined by a veth pair shaped to RATE on
# both ends (tbf; default 10gbit, as a 10 GbE link; "none" leaves the pair
# as fast as the CPUs can copy). The scheduler and worker wa run in A,
# worker wb in B; every byte between them crosses the link under mutual
# TLS, as between two machines.
#
# usage: sh bench/link.sh BUILD_DIR [RATE] [ROUNDS]
# Needs root and `ip` and `tc` (iproute2); prints the lines as n/a without.
set -u
build=${1:?usage: sh bench/link.sh BUILD_DIR [RATE] [ROUNDS]}
rate=${2:-10gbit}
rounds=${3:-7}
na() {
    echo "bench_link: $1" >&2
    for n in tcp_floor bandwidth; do
        echo "link.transfer_256mib_$n: n/a MiB/s"
    done
    echo "link.transfer_256mib_vs_tcp: n/a x"
    exit 0
}
[ "$(id -u)" = 0 ] || na "needs root (network namespaces)"
command -v ip >/dev/null && command -v tc >/dev/null || na "needs ip and tc"

a=dvlinka$$
b=dvlinkb$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drove-link.XXXXXX") || exit 1
cleanup() {
    for pid in $(cat "$tmp"/*.pid 2>/dev/null); do kill "$pid" 2>/dev/null; done
    ip netns del "$a" 2>/dev/null
    ip netns del "$b" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
{
    ip netns add "$a" && ip netns add "$b" &&
        ip link add "$a" netns "$a" type veth peer name "$b" netns "$b" &&
        ip -n "$a" addr add 10.234.0.1/24 dev "$a" &&
        ip -n "$b" addr add 10.234.0.2/24 dev "$b" &&
        for ns in "$a" "$b"; do
            ip -n "$ns" link set lo up && ip -n "$ns" link set "$ns" up ||
                exit 1
        done
} 2>"$tmp/ip.err" || na "cannot make namespaces: $(cat "$tmp/ip.err")"
if [ "$rate" != none ]; then
    for ns in "$a" "$b"; do
        ip netns exec "$ns" tc qdisc add dev "$ns" root tbf rate "$rate" \
            burst 8mb latency 50ms || na "tc cannot shape to $rate"
    done
fi

# bg NAME NS COMMAND...: starts COMMAND in NS; its stdout in $tmp/NAME.out,
# its stderr in $tmp/NAME.log.
bg() {
    name=$1 ns=$2
    shift 2
    ip netns exec "$ns" "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
    echo $! >"$tmp/$name.pid"
}
export DROVE_HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp"
mkdir -p "$DROVE_HOME"
bg scheduler "$a" "$build/drove" scheduler --address tcp://0.0.0.0:0
for i in $(seq 100); do
    port=$(sed -n '1s/.*:\([0-9][0-9]*\)$/\1/p' "$tmp/scheduler.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || na "the scheduler did not start: $(cat "$tmp/scheduler.log")"
sched=tcp://10.234.0.1:$port
bg wa "$a" "$build/drove" worker --scheduler "$sched" --threads 1 --name wa
bg wb "$b" "$build/drove" worker --scheduler "$sched" --threads 1 --name wb \
    --listen tcp://0.0.0.0:0
bg sink "$b" "$build/bench/bench_link" sink 10.234.0.2 9000
ip netns exec "$a" "$build/bench/bench_link" run "$sched" \
    "$build/bench/libbench_fns.so" 10.234.0.2 9000 "$rounds"
