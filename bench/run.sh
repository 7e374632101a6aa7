#!/bin/sh
# Runs every benchmark against a build directory and prints one line per
# figure, `name: value unit`:
#
#   physical.*   a plain TCP ping-pong, the limit the latencies are read
#                against
#   tls.*        a connection in plain TCP against the same over mutual TLS:
#                round trip, bandwidth, handshake; then (tls.task_*) drove
#                on daemons with TLS (tcp_tls: workers fetch over TLS too)
#                against the same daemons in plain TCP
#                (the test-only DROVE_TEST_PLAINTEXT switch), run in
#                alternation: task round trip, tiny-task throughput and a
#                256 MiB worker-to-worker transfer
#   threads.*    drove on local:threads=2
#   processes.*  drove on local:processes=2
#   tcp.*        drove on a scheduler and two workers, daemons on 127.0.0.1
#                (TLS, as users run them; the workers, on one host, fetch
#                from each other by their socket files)
#   tcp_tls.*    the same with DROVE_SAMEHOST=0: the workers fetch over
#                TLS, as workers on two hosts do (the transfer only)
#   link.*       a 256 MiB result moved from a worker on one host to a
#                worker on another, over mutual TLS, against plain TCP
#                over the same 10 Gbit/s link, in alternation: two hosts
#                played by network namespaces (bench/link.sh; n/a without
#                root)
#                Each of the three in two runs of bench_drove (the names
#                are listed at its top): start-up, throughputs, the chain
#                and memory; then, with --only tree,transfer,roundtrip,
#                fanout, the figures that have a goal, and the round trips
#                and transfers read against floors measured in the same
#                run, in alternation with drove (bench_drove_floors.c):
#     CLUSTER.tree_reduce_16x1m          16 arrays of 1e6 doubles summed in
#                                        a binary tree, median of 5 (goal:
#                                        <= 100 ms) after the cluster's
#                                        first, printed alone as _first
#                                        (its workers' memory written for
#                                        the first time)
#     CLUSTER.roundtrip_median, _p99     submit one inc, dv_result it, in
#                                        15 batches of 200
#     CLUSTER.roundtrip_floor            a 64-byte plain TCP ping-pong with
#                                        another process on 127.0.0.1, in
#                                        batches between drove's (threads
#                                        too, though its workers use none)
#     CLUSTER.roundtrip_vs_floor         drove/TCP: the median over batches
#                                        of the ratio of batch medians
#     processes.roundtrip_unix_floor, processes.roundtrip_vs_unix
#                                        the same over a Unix socket, what
#                                        its workers use
#     tcp.roundtrip_relay_floor, tcp.roundtrip_vs_relay
#                                        the ping passed through a third
#                                        process and back: the same hops
#                                        as client, scheduler and worker
#     threads.roundtrip_handoff_floor, threads.roundtrip_vs_handoff
#                                        a round trip between two threads
#     CLUSTER.transfer_256mib_time, _bandwidth
#                                        a 256 MiB result made on one worker
#                                        consumed on the other, in 5 runs
#     CLUSTER.transfer_256mib_tcp_floor  256 MiB over plain TCP into a
#                                        buffer of another process already
#                                        in memory (the wire), each run
#                                        beside one of drove's
#     CLUSTER.transfer_256mib_vs_tcp     drove/TCP bandwidth, the median of
#                                        the pairs' ratios (goal: >= 0.8)
#     processes.transfer_256mib_unix_floor, processes.transfer_256mib_vs_unix
#                                        the same over a Unix socket
#     threads.transfer_256mib_memcpy_floor, threads.transfer_256mib_vs_memcpy
#                                        a memcpy into a buffer in memory
#     CLUSTER.fanout_fanin_10k, _submit  a root task, 10,000 tasks taking
#                                        its future, one task taking their
#                                        10,000 futures: first submit to
#                                        the final result (goal: <= 100
#                                        ms); _submit: the client's part
#                The ratios' spread (min, quartiles, max) goes to stderr,
#                with the load average: a ratio cancels the loopback's
#                swings, not other processes taking the two cores, which
#                cost drove's several hops more than a ping-pong's one.
#   CLUSTER.child_*, .client_roundtrip_*, .continuation_per_task,
#   CLUSTER.fib_children
#                child tasks (dv_call_submit inside a task) on threads,
#                processes and tcp, measured in one run of bench_children,
#                the clusters taking turns:
#     CLUSTER.child_roundtrip_median, _p99
#                                        inside one task, submit a child
#                                        inc and dv_result it (the worker
#                                        lends a thread meanwhile), timed
#                                        in the task: 10 batches of 200
#     CLUSTER.client_roundtrip_median, _p99
#                                        the client's submit and dv_result
#                                        of inc, in batches alternating
#                                        with the children's
#     CLUSTER.child_vs_client_roundtrip  child/client: the median over
#                                        batches of the ratio of the batch
#                                        medians (x)
#     CLUSTER.continuation_per_task      sum_range over 2^14 elements, each
#                                        task returning its add child's
#                                        future (49,150 tasks): wall time
#                                        / tasks, median of 3 (us)
#     CLUSTER.fib_children               fib(25) of pure children (equal
#                                        calls share a task: 50 tasks, a
#                                        chain 25 deep), median of 3 (ms)
#   state.*      the same daemons with `drove scheduler --state FILE` against
#                without, in alternating pairs: tiny-task throughput (map)
#                with results published, as the median of the pairs'
#                ratios (goal: >= 0.9; each pair's figures on stderr), and
#                the scheduler's CPU time for that same work (with/without)
#   dashboard.*  the same daemons with the scheduler's dashboard off and
#                on, a client polling /api/status once a second (the
#                page's rate), in alternating pairs: tiny-task throughput
#                (map), medians and the median of the pairs' ratios (goal:
#                within 5%, >= 0.95), and the scheduler's CPU time for the
#                same work (polled/off)
#   spill.*      a worker's results spilled to files under $TMPDIR and read
#                back (--memory-limit)
#   fusion.*     a 100,000-link chain, each link's future released once the
#                next takes it, with fusion (the intermediate handed over in
#                memory on the worker, never stored) and without
#                (DROVE_FUSION=0), alternating (bench_fusion): us per link
#                on local:threads=1 and local:processes=1, their ratio, and
#                the most results the worker held at once (threads)
#   map.*        `drove map -j2 true` over 100 and 2,000 arguments, embedded
#                and on two daemon workers, beside `xargs -P2 -n1 true` and
#                GNU parallel, best of 3 (bench/bench_map.sh lists the
#                lines): ms/job and drove/xargs (goal: <= 1.3)
#   pipeline.*   `drove pipeline` over 100,000 small files (100 directories
#                of 1,000, glob "/*"): the first run, a no-op re-run (every
#                file recognised by its stat in the SQLite cache; median
#                of 3) and a re-run after one file changed, in seconds
#                (bench/bench_pipeline.sh)
#   dask.*       dask distributed's LocalCluster(2 processes), if installed
#   ratio.*      local:processes=2 against dask (> 1: drove is better)
#   raster_add.* GeoTrellis's local.Add of five 4096 x 4096 float32
#                GeoTIFFs: the raster_add example (a task per tile) on
#                local:processes=2 against gdal_calc.py on the same files,
#                alternating (bench/raster_bench.sh): drove_s, gdal_calc_s
#                (medians of whole runs' wall times) and
#                speedup_vs_gdal_calc (goal: >= 1.5); n/a without GDAL
#   metg.*       Task Bench's METG, the minimum effective task granularity
#                (the smallest task, in us of wall time x cores / tasks, at
#                which a system keeps 50% of the machine's peak FLOP/s,
#                interpolated between the points either side of 50% as Task
#                Bench's scripts do), of
#                a compute-bound kernel in graphs of 2 x cores tasks a step,
#                measured interleaved on OpenMP tasks (metg_omp, built when
#                CMake finds OpenMP; else `n/a`) and drove's threads,
#                processes and tcp clusters (bench_metg):
#                  metg.P.peak               GFLOP/s, the best any reached
#                  metg.P.host_steal         %, the CPU time the host (of a
#                                            virtual machine) gave other
#                                            guests while the sweep ran
#                  metg.P.openmp, .threads, .processes, .tcp   us
#                  metg.P.SYSTEM_vs_openmp   x, drove's METG / OpenMP's
#                  metg.P.openmp_plateau     %, OpenMP's efficiency at the
#                                            largest grains: under 90%, the
#                                            machine changed speed during
#                                            the sweep, which then ran
#                                            once more (this is the last)
#                  metg.P.SYSTEM_overhead    us, what sets drove's METG: the
#                                            CPU time its processes took a
#                                            task beyond the kernel's own
#                                            (timed alone), at the point
#                                            of the METG; trivial's METG is
#                                            about twice it (a stencil's is
#                                            more: its cores also wait for
#                                            inputs to cross workers)
#                for P = trivial (independent tasks) and stencil_1d (each
#                task needs its three neighbours of the step before);
#                every point's figures on stderr; and the floor a
#                dependency between threads is read against:
#                  metg.wake_idle, .wake_busy   us, the median time from
#                                            a uv_async_send to its
#                                            callback on a loop thread
#                                            asleep in epoll, the machine
#                                            idle, then with every core
#                                            running the kernel (bench/
#                                            metg_wake.h)
#
# usage: sh bench/run.sh BUILD_DIR    (what `make bench` runs)
#        sh bench/run.sh BUILD_DIR floors
#                 only the second runs (tree, transfer, roundtrip, fanout;
#                 about a minute a cluster); one part alone, on one
#                 cluster: BUILD_DIR/bench/bench_drove --cluster tcp
#                 --only fanout
#        sh bench/run.sh BUILD_DIR metg    (the METG lines alone)
#        sh bench/run.sh BUILD_DIR link    (the two-host transfer alone)
#        sh bench/run.sh BUILD_DIR raster  (the raster_add lines alone)
#        sh bench/run.sh BUILD_DIR children  (bench_children's lines alone)
#        sh bench/run.sh BUILD_DIR map  (bench_map.sh's lines alone)
#        sh bench/run.sh BUILD_DIR dashboard (the dashboard pairs alone)
#        sh bench/run.sh BUILD_DIR pipeline  (bench_pipeline.sh's lines alone)
# Each program runs under a timeout; the script exits non-zero if one failed.
set -u

build=${1:?usage: sh bench/run.sh BUILD_DIR [floors|metg|raster|children|map]}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drove-bench-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
: >"$tmp/all"
failed=0

# run SECONDS PROGRAM ARGS...: streams the program's lines and keeps them
# for the ratios; records a failure or a timeout.
run() {
    limit=$1
    shift
    { timeout -k 5 "$limit" "$@"; echo $? >"$tmp/rc"; } | tee -a "$tmp/all"
    rc=$(cat "$tmp/rc")
    if [ "$rc" != 0 ]; then
        [ "$rc" = 124 ] && echo "bench: $*: timed out after ${limit}s" >&2
        echo "bench: $* exited with status $rc" >&2
        failed=1
    fi
}

if [ ! -x "$bin/bench_drove" ] || [ ! -x "$build/drove" ]; then
    echo "bench: $bin/bench_drove or $build/drove missing; build first" >&2
    exit 1
fi

# floors_runs: each cluster's second run: the tree reduction, the
# transfer and the round trips against their floors, the fan-out.
floors_runs() {
    for cluster in threads processes tcp; do
        run 150 "$bin/bench_drove" --cluster "$cluster" \
            --drove "$build/drove" --only tree,transfer,roundtrip,fanout
    done
    # The workers of tcp share this host and fetch by socket files; here
    # they fetch over TLS, as workers on two hosts do.
    run 150 "$bin/bench_drove" --cluster tcp_tls --drove "$build/drove" \
        --only transfer
}
# Two hosts played by network namespaces, about 20 s.
link() {
    run 300 sh "$here/link.sh" "$build"
}
if [ "${2:-}" = link ]; then
    link
    exit $failed
fi
# bench_metg keeps its run under 5 minutes on a 2-core machine.
metg() {
    run 420 "$bin/bench_metg" --drove "$build/drove"
}
if [ "${2:-}" = floors ]; then
    floors_runs
    exit $failed
fi
if [ "${2:-}" = metg ]; then
    metg
    exit $failed
fi
# The raster_add example against gdal_calc.py, about 15 s.
raster() {
    run 300 sh "$here/raster_bench.sh" "$build"
}
if [ "${2:-}" = raster ]; then
    raster
    exit $failed
fi
# Child tasks on the three clusters, about 10 s.
children() {
    run 300 "$bin/bench_children" --drove "$build/drove"
}
if [ "${2:-}" = children ]; then
    children
    exit $failed
fi
# drove map against xargs and GNU parallel, about a minute.
map() {
    run 300 bash "$here/bench_map.sh" "$build"
}
if [ "${2:-}" = map ]; then
    map
    exit $failed
fi
# drove pipeline over 100,000 files, about 2 minutes (the first run).
pipeline() {
    run 600 sh "$here/bench_pipeline.sh" "$build"
}
if [ "${2:-}" = pipeline ]; then
    pipeline
    exit $failed
fi

# pairs N A B ONLY FILTER: N runs of bench_drove on clusters A and B in
# alternation (the order swapped every other pair, so the machine's drift
# hits both), --only ONLY, the lines matching FILTER kept in $tmp/pairs.
pairs() {
    : >"$tmp/pairs"
    i=0
    while [ "$i" -lt "$1" ]; do
        i=$((i + 1))
        order="$2 $3"
        [ $((i % 2)) = 0 ] && order="$3 $2"
        for cluster in $order; do
            { timeout -k 5 150 "$bin/bench_drove" --cluster "$cluster" \
                --drove "$build/drove" --only "$4" --no-floors
                echo $? >"$tmp/rc"; } |
                grep "$5" >>"$tmp/pairs"
            [ "$(cat "$tmp/rc")" = 0 ] || failed=1
        done
    done
}
# The awk reading `name: value unit` lines into n[name] and v[name, i],
# with median(); the figures are medians over the pairs.
read_pairs='
    { split($2, f, " "); n[$1]++; v[$1, n[$1]] = f[1] }
    function median(a, k,    i, j, t) {
        for (i = 1; i <= k; i++)
            for (j = i + 1; j <= k; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    # Cluster a against b (the same map, without and with something):
    # out.map_throughput_LA and _LB, their ratio b/a and the scheduler
    # CPU ratio b/a, medians over the pairs. 0 if the pairs are missing.
    function map_pair(a, b, out, la, lb,    k, m, i, p, t, r, c, w) {
        k = n[a ".map_throughput"]
        if (k == 0 || n[b ".map_throughput"] != k) {
            printf "%s.map_throughput_ratio: n/a x\n", out
            return 0
        }
        for (i = 1; i <= k; i++) {
            p[i] = v[a ".map_throughput", i]
            t[i] = v[b ".map_throughput", i]
            r[i] = p[i] > 0 ? t[i] / p[i] : 0
            printf "bench: %s pair %d: %d tasks/s %s, %d %s\n",
                out, i, p[i], la, t[i], lb > "/dev/stderr"
        }
        printf "%s.map_throughput_%s: %.0f tasks/s\n", out, la, median(p, k)
        printf "%s.map_throughput_%s: %.0f tasks/s\n", out, lb, median(t, k)
        printf "%s.map_throughput_ratio: %.3f x\n", out, median(r, k)
        # The same work: the scheduler CPU of b over a.
        m = n[b ".scheduler_cpu"]
        if (m == 0 || m != n[a ".scheduler_cpu"])
            return 1
        for (i = 1; i <= m; i++) {
            w = v[a ".scheduler_cpu", i]
            c[i] = w > 0 ? v[b ".scheduler_cpu", i] / w : 0
        }
        printf "%s.scheduler_cpu_ratio: %.3f x\n", out, median(c, m)
        return 1
    }'
# Without and with the dashboard (polled at the page's rate).
dashboard_pairs() {
    pairs 5 tcp_nodash tcp_dash map \
        "map_throughput\|dashboard_polls\|scheduler_cpu"
    awk -F': ' "$read_pairs"'
    END { map_pair("tcp_nodash", "tcp_dash", "dashboard", "off", "polled") }'\
        "$tmp/pairs" | tee -a "$tmp/all"
}
if [ "${2:-}" = dashboard ]; then
    dashboard_pairs
    exit $failed
fi

run 60 "$bin/bench_pingpong"
run 120 "$bin/bench_spill"
run 300 "$bin/bench_fusion"
run 300 "$bin/bench_tls"
# TLS against the same daemons in plain TCP (workers fetching over TLS).
pairs 3 tcp_plain tcp_tls roundtrip,map,transfer \
    "roundtrip_median\|map_throughput\|transfer_256mib_bandwidth"
awk -F': ' "$read_pairs"'
    function pair(name, how, out, unit,    k, i, d, p, t) {
        k = n["tcp_tls." name]
        if (k == 0 || n["tcp_plain." name] != k) {
            printf "%s: n/a %s\n", out, unit
            return
        }
        for (i = 1; i <= k; i++) {
            p = v["tcp_plain." name, i]; t = v["tcp_tls." name, i]
            d[i] = how == "diff" ? t - p : (p > 0 ? t / p : 0)
        }
        printf how == "diff" ? "%s: %.1f %s\n" : "%s: %.3f %s\n", out,
            median(d, k), unit
        for (i = 1; i <= k; i++) delete d[i]
    }
    END {
        pair("roundtrip_median", "diff", "tls.task_roundtrip_added", "us")
        pair("roundtrip_median", "ratio", "tls.task_roundtrip_ratio", "x")
        pair("map_throughput", "ratio", "tls.task_map_throughput_ratio", "x")
        pair("transfer_256mib_bandwidth", "ratio",
             "tls.task_transfer_256mib_ratio", "x")
    }' "$tmp/pairs" | tee -a "$tmp/all"
# Without and with --state.
pairs 5 tcp tcp_state map "map_throughput\|publish\|scheduler_cpu"
awk -F': ' "$read_pairs"'
    END {
        if (!map_pair("tcp", "tcp_state", "state", "without", "with"))
            exit
        m = n["tcp_state.publish_median"]
        for (i = 1; i <= m; i++) q[i] = v["tcp_state.publish_median", i]
        if (m > 0) printf "state.publish_median: %.2f ms\n", median(q, m)
    }' "$tmp/pairs" | tee -a "$tmp/all"
dashboard_pairs
# Each cluster in two runs, each under its own timeout: throughputs and
# memory, then (floors_runs) the figures with goals and floors.
for cluster in threads processes tcp; do
    run 150 "$bin/bench_drove" --cluster "$cluster" --drove "$build/drove" \
        --only startup,map,submit,chain,stored,pending
done
floors_runs
link
children
map
pipeline

if /usr/bin/python3 -c 'import distributed' 2>/dev/null; then
    run 150 /usr/bin/python3 "$here/dask_bench.py"
    # ours/dask for throughput, dask/ours for times.
    awk '
        $2 ~ /^[0-9.]+$/ { v[$1] = $2 }
        function ratio(name, inverse,    a, b) {
            a = v["processes." name ":"]; b = v["dask." name ":"]
            if (a == "" || b == "" || a == 0 || b == 0) {
                printf "ratio.%s_vs_dask: n/a x\n", name
            } else if (inverse) {
                printf "ratio.%s_vs_dask: %.1f x\n", name, b / a
            } else {
                printf "ratio.%s_vs_dask: %.1f x\n", name, a / b
            }
        }
        END {
            ratio("map_throughput", 0)
            ratio("roundtrip_median", 1)
            ratio("roundtrip_p99", 1)
            ratio("chain_per_link", 1)
            ratio("startup_to_first_result", 1)
        }' "$tmp/all"
else
    echo "dask: skipped (/usr/bin/python3 cannot import distributed;" \
        "apt-get install python3-distributed)"
fi
raster
metg
exit $failed
