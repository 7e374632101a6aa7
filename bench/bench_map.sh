#!/bin/bash
# `drove map` against xargs -P2 and GNU parallel: the cost of a job, as
# wall time / jobs of running `true` once per argument, two at a time:
#
#   drove map -j2 true ::: 1..N            on the embedded default
#                                          (dv_connect(NULL): local threads)
#   DROVE_SCHEDULER=tcp://... drove map -j2 true ::: 1..N
#                                          on a scheduler and two workers of
#                                          one thread (daemons on 127.0.0.1)
#   drove map -j2 --workdir ... true ::: 1..N
#                                          embedded, each job in its scratch
#                                          directory: without the `env -C`
#                                          that runs a job in the current one
#   TMPDIR=/dev/shm drove map -j2 --workdir ... true ::: 1..N
#                                          the same with the scratch
#                                          directories on tmpfs: what a job
#                                          costs drove when making and
#                                          removing them is cheap
#   seq N | xargs -P2 -n1 true             the floor: a fork and exec a job
#   parallel -j2 true ::: 1..N             GNU parallel
#
# for N = 100 and 2,000; the six take turns (the order rotated each
# round) and each figure is the best of RUNS rounds. Whole processes are
# timed, start-up included, as a user sees them.
#
#   map.N.xargs, .parallel, .drove_embedded, .drove_tcp,
#   map.N.drove_embedded_scratch, .drove_embedded_shm     ms/job
#   map.N.embedded_vs_xargs, .tcp_vs_xargs,
#   map.N.embedded_scratch_vs_xargs, .embedded_shm_vs_xargs
#                                                         x (goal: <= 1.3)
#   map.N.drove_embedded_job_runtime                      ms
#           the mean JobRuntime of a further embedded run's joblog: spawn
#           to exit of a job's process (env -C and true), as its worker
#           measured it; the rest of a job's cost is drove's (the task's
#           round trip, its scratch directory)
#
# usage: bash bench/bench_map.sh BUILD_DIR [RUNS]   (RUNS: 3)
set -u
build=${1:?usage: bash bench/bench_map.sh BUILD_DIR [RUNS]}
runs=${2:-3}
drove=$(cd "$build" && pwd)/drove
[ -x "$drove" ] || { echo "bench_map: $drove missing; build first" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drove-bench-map.XXXXXX") || exit 1
pids=
cleanup() {
    for p in $pids; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export DROVE_HOME=$tmp/home
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER DROVE_SCHEME
have_parallel=1
command -v parallel >/dev/null 2>&1 || {
    have_parallel=0
    echo "bench_map: no GNU parallel (apt-get install parallel)" >&2
}

# The daemons: a scheduler and two workers of one thread.
"$drove" scheduler --address tcp://127.0.0.1:0 >"$tmp/sched.out" \
    2>"$tmp/sched.err" &
pids="$pids $!"
addr=
for _ in $(seq 200); do
    addr=$(head -n 1 "$tmp/sched.out" 2>/dev/null)
    [ -n "$addr" ] && break
    sleep 0.05
done
[ -n "$addr" ] || { cat "$tmp/sched.err" >&2; exit 1; }
for w in 1 2; do
    "$drove" worker --scheduler "$addr" --threads 1 >"$tmp/w$w.log" 2>&1 &
    pids="$pids $!"
done
for _ in $(seq 200); do
    "$drove" cluster status 2>/dev/null | grep -q '^2 workers' && break
    sleep 0.05
done

now() {
    date +%s.%N
}
# timed NAME N COMMAND...: appends "NAME N SECONDS" to $tmp/times.
timed() {
    local name=$1 n=$2
    shift 2
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>"$tmp/err" || {
        echo "bench_map: $name failed:" >&2
        cat "$tmp/err" >&2
    }
    t1=$(now)
    echo "$name $n $t0 $t1" >>"$tmp/times"
}
one() {
    local tool=$1 n=$2
    case $tool in
    xargs) timed xargs "$n" sh -c "seq $n | xargs -P2 -n1 true" ;;
    parallel)
        [ "$have_parallel" = 1 ] &&
            timed parallel "$n" parallel --will-cite -j2 true ::: $(seq "$n")
        ;;
    drove_embedded)
        timed drove_embedded "$n" "$drove" map --no-bar -j2 true \
            ::: $(seq "$n")
        ;;
    drove_embedded_scratch)
        timed drove_embedded_scratch "$n" "$drove" map --no-bar -j2 \
            --workdir ... true ::: $(seq "$n")
        ;;
    drove_embedded_shm)
        TMPDIR=/dev/shm timed drove_embedded_shm "$n" "$drove" map \
            --no-bar -j2 --workdir ... true ::: $(seq "$n")
        ;;
    drove_tcp)
        DROVE_SCHEDULER=$addr timed drove_tcp "$n" "$drove" map --no-bar \
            -j2 true ::: $(seq "$n")
        ;;
    esac
}
: >"$tmp/times"
tools=(xargs drove_embedded parallel drove_tcp drove_embedded_scratch
    drove_embedded_shm)
: >"$tmp/runtimes"
for n in 100 2000; do
    for r in $(seq "$runs"); do
        # The order rotates each round, so drift hits every tool.
        for k in 0 1 2 3 4 5; do
            one "${tools[$(((k + r) % 6))]}" "$n"
        done
    done
    "$drove" map --no-bar -j2 --joblog "$tmp/joblog" true ::: $(seq "$n") &&
        awk -F'\t' -v n="$n" 'NR > 1 { s += $4; k++ }
            END { if (k) printf "map.%s.drove_embedded_job_runtime: %.3f ms\n",
                  n, s * 1000 / k }' "$tmp/joblog" >>"$tmp/runtimes"
done
awk '
    { t = ($4 - $3) * 1000 / $2; k = $2 SUBSEP $1
      if (!(k in best) || t < best[k]) best[k] = t }
    END {
        split("100 2000", ns, " ")
        split("xargs parallel drove_embedded drove_tcp " \
              "drove_embedded_scratch drove_embedded_shm", ts, " ")
        for (i = 1; i <= 2; i++) {
            n = ns[i]
            for (j = 1; j <= 6; j++) {
                k = n SUBSEP ts[j]
                if (k in best)
                    printf "map.%s.%s: %.3f ms/job\n", n, ts[j], best[k]
                else
                    printf "map.%s.%s: n/a ms/job\n", n, ts[j]
            }
            x = best[n SUBSEP "xargs"]
            printf "map.%s.embedded_vs_xargs: %.2f x\n", n,
                best[n SUBSEP "drove_embedded"] / x
            printf "map.%s.tcp_vs_xargs: %.2f x\n", n,
                best[n SUBSEP "drove_tcp"] / x
            printf "map.%s.embedded_scratch_vs_xargs: %.2f x\n", n,
                best[n SUBSEP "drove_embedded_scratch"] / x
            printf "map.%s.embedded_shm_vs_xargs: %.2f x\n", n,
                best[n SUBSEP "drove_embedded_shm"] / x
        }
    }' "$tmp/times"
cat "$tmp/runtimes"
