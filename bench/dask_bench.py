#!/usr/bin/python3
"""dask distributed on the measurements bench_drove makes, for comparison.

LocalCluster(n_workers=2, threads_per_worker=1, processes=True), the
counterpart of drove's local:processes=2. Prints `dask.name: value unit`:

  map_throughput           client.map(inc) over 10,000 ints, then gather
  roundtrip_median, _p99   submit(inc, i, pure=False).result(), 300 times
  chain_per_link           a chain of 2000 inc (pure=False)
  startup_to_first_result  a fresh python: import, LocalCluster, submit,
                           result (median of 2)

Kept under two minutes. Run with /usr/bin/python3 (Debian's
python3-distributed).
"""

import logging
import os
import statistics
import subprocess
import sys
import time

MAP_N = 10000
RT_WARMUP = 30
RT_N = 300
CHAIN_N = 2000
STARTUP_RUNS = 2


def inc(x):
    return x + 1


def line(name, value, decimals, unit):
    print("dask.%s: %.*f %s" % (name, decimals, value, unit), flush=True)


def percentile(values, p):
    values = sorted(values)
    rank = max(1, min(len(values), int(p / 100.0 * len(values) + 0.999999)))
    return values[rank - 1]


def make_cluster():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1,
                           processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return cluster, Client(cluster)


def startup_child():
    """Prints the monotonic clock at the first result; the parent read the
    same clock before starting this process."""
    cluster, client = make_cluster()
    assert client.submit(inc, 41, pure=False).result(timeout=60) == 42
    print(repr(time.monotonic()), flush=True)
    client.close()
    cluster.close()


def startup():
    times = []
    for _ in range(STARTUP_RUNS):
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, os.path.abspath(__file__),
                              "--startup-child"], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        times.append((float(out.split()[0]) - t0) * 1e3)
    line("startup_to_first_result", statistics.median(times), 1, "ms")


def main():
    cluster, client = make_cluster()
    try:
        client.gather(client.map(inc, range(-1000, 0)))  # warm-up

        t0 = time.monotonic()
        futures = client.map(inc, range(MAP_N))
        results = client.gather(futures)
        t1 = time.monotonic()
        assert results[-1] == MAP_N
        del futures, results
        line("map_throughput", MAP_N / (t1 - t0), 0, "tasks/s")

        rtts = []
        for i in range(RT_WARMUP + RT_N):
            t0 = time.monotonic()
            assert client.submit(inc, i, pure=False).result() == i + 1
            if i >= RT_WARMUP:
                rtts.append((time.monotonic() - t0) * 1e6)
        line("roundtrip_median", percentile(rtts, 50), 1, "us")
        line("roundtrip_p99", percentile(rtts, 99), 1, "us")

        t0 = time.monotonic()
        f = client.submit(inc, 0, pure=False)
        for _ in range(CHAIN_N - 1):
            f = client.submit(inc, f, pure=False)
        assert f.result(timeout=120) == CHAIN_N
        t1 = time.monotonic()
        line("chain_per_link", (t1 - t0) * 1e6 / CHAIN_N, 1, "us")
    finally:
        client.close()
        cluster.close()
    startup()


if __name__ == "__main__":
    if "--startup-child" in sys.argv:
        startup_child()
    else:
        main()
