#!/usr/bin/env bash
# drove — integration: the ways a user links and writes a program.
#
# Usage: linking_test.sh SOURCE_DIR BUILD_DIR [SANITIZERS]
# Installs the build into a temporary prefix, then, as an outside user:
#  - a C program whose task function reads a global set by the program's
#    constructor, linked with `pkg-config --libs drove`, gives the same
#    result on threads and on process workers (which run the program's
#    constructors before the worker role);
#  - the same program linked with the static libdrove.a (and with
#    `pkg-config --static`) runs on process workers without forking
#    without end (a watchdog kills a runaway and fails the test);
#  - a process started as a worker that reaches main refuses to start a
#    cluster of its own, with an error naming the reason;
#  - a C++ program (g++) with DV_FUNCTIONs reading a std::string global and
#    DV_SUBMIT runs on threads, processes and daemons (its functions
#    uploaded as a C++ library);
#  - the README's tour program, built as the README says, prints 12, and
#    with a scheduler address that answers nothing exits non-zero naming
#    it; a program linked with its functions library the README's way
#    still runs after both move to another directory.
set -u
SRC=${1:?usage: linking_test.sh SOURCE_DIR BUILD_DIR [SANITIZERS]}
BUILD=${2:?usage: linking_test.sh SOURCE_DIR BUILD_DIR [SANITIZERS]}
SAN=${3:-}
CC=${CC:-cc}
CXX=${CXX:-g++}
TMP=$(mktemp -d /tmp/dvtest-linking-XXXXXX)
PREFIX=$TMP/prefix
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER
PIDS=()
failures=0

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    pkill -KILL -f "$TMP/" 2>/dev/null
    if [ "$failures" != 0 ]; then
        for f in "$TMP"/*.log; do
            [ -e "$f" ] || continue
            echo "---- $f ----" >&2
            cat "$f" >&2
        done
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

die() {
    fail "$*"
    exit 1
}

timeout 120 cmake --install "$BUILD" --prefix "$PREFIX" \
    >"$TMP/install.log" 2>&1 || die "cmake --install failed"
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
SANFLAGS=()
if [ -n "$SAN" ]; then
    SANFLAGS=(-fsanitize="$SAN" -fno-omit-frame-pointer)
fi
read -r -a CFLAGS_DROVE <<<"$(pkg-config --cflags drove)"
read -r -a LIBS_DROVE <<<"$(pkg-config --libs drove)"
read -r -a LIBS_STATIC <<<"$(pkg-config --static --libs drove)"

# expect NAME WANT CMD...: runs CMD (60 s at most); its output must
# contain WANT.
expect() {
    local name=$1 want=$2
    shift 2
    timeout -k 5 60 "$@" >"$TMP/$name.out" 2>"$TMP/$name.log"
    local rc=$?
    if [ "$rc" != 0 ] || ! grep -q "$want" "$TMP/$name.out"; then
        fail "$name: '$*' exited $rc, want '$want': $(cat "$TMP/$name.out")"
    else
        echo "linking_test: $name: $(cat "$TMP/$name.out")"
    fi
}

# 1. Constructors run in process workers.
"$CC" -std=c11 -Wall -Werror "${SANFLAGS[@]}" -o "$TMP/ctor_prog" \
    "$SRC/tests/integration/ctor_prog.c" "${CFLAGS_DROVE[@]}" \
    "${LIBS_DROVE[@]}" >"$TMP/cc-ctor.log" 2>&1 || die "cc ctor_prog failed"
expect ctor-threads "ctor_prog: 101" "$TMP/ctor_prog" local:threads=2
expect ctor-processes "ctor_prog: 101" "$TMP/ctor_prog" local:processes=2

# 2. Static linking, with a watchdog against forking without end.
if [ -z "$SAN" ]; then
    static_libs=()
    for a in "${LIBS_STATIC[@]}"; do
        [ "$a" = -ldrove ] || static_libs+=("$a")
    done
    "$CC" -std=c11 -Wall -Werror -o "$TMP/ctor_static" \
        "$SRC/tests/integration/ctor_prog.c" "${CFLAGS_DROVE[@]}" \
        "$PREFIX/lib/libdrove.a" "${static_libs[@]}" \
        >"$TMP/cc-static.log" 2>&1 || die "cc with libdrove.a failed"
    "$CC" -std=c11 -Wall -Werror -o "$TMP/ctor_pcstatic" \
        "$SRC/tests/integration/ctor_prog.c" "${CFLAGS_DROVE[@]}" \
        "${LIBS_STATIC[@]}" >"$TMP/cc-pcstatic.log" 2>&1 ||
        die "cc with pkg-config --static failed"
    (
        for _ in $(seq 600); do
            n=$(pgrep -c -f "$TMP/ctor_(static|pcstatic)" 2>/dev/null)
            if [ "${n:-0}" -gt 12 ]; then
                echo "runaway: $n processes" >"$TMP/runaway"
                pkill -KILL -f "$TMP/ctor_"
            fi
            sleep 0.1
        done
    ) &
    PIDS+=($!)
    expect static "ctor_prog: 101" "$TMP/ctor_static" local:processes=2
    expect pkg-static "ctor_prog: 101" "$TMP/ctor_pcstatic" local:processes=2
    [ -e "$TMP/runaway" ] && fail "forked without end: $(cat "$TMP/runaway")"
fi

# 3. A worker child that reaches main does not start a cluster.
DVT_GUARD=1 timeout 20 "$TMP/ctor_prog" local:processes=2 \
    >"$TMP/guard.out" 2>"$TMP/guard.log"
rc=$?
[ "$rc" = 127 ] || fail "guard: exit status $rc, want 127"
grep -q "started as a worker" "$TMP/guard.log" ||
    fail "guard: no clear error: $(cat "$TMP/guard.log")"

# 4. C++.
if command -v "$CXX" >/dev/null; then
    "$CXX" -std=c++11 -Wall -Werror "${SANFLAGS[@]}" -shared -fPIC \
        -DCXX_FUNCTIONS_ONLY -o "$TMP/libcxxfns.so" \
        "$SRC/tests/integration/cxx_prog.cc" "${CFLAGS_DROVE[@]}" \
        "${LIBS_DROVE[@]}" >"$TMP/cxx-lib.log" 2>&1 || die "g++ lib failed"
    "$CXX" -std=c++11 -Wall -Werror "${SANFLAGS[@]}" -o "$TMP/cxx_prog" \
        "$SRC/tests/integration/cxx_prog.cc" "${CFLAGS_DROVE[@]}" \
        "${LIBS_DROVE[@]}" >"$TMP/cxx-prog.log" 2>&1 || die "g++ prog failed"
    expect cxx-threads "cxx_prog: 9 12 24 4" "$TMP/cxx_prog" local:threads=2
    expect cxx-processes "cxx_prog: 9 12 24 4" "$TMP/cxx_prog" local:processes=2
    "$PREFIX/bin/drove" scheduler --address tcp://127.0.0.1:0 \
        >"$TMP/scheduler.out" 2>"$TMP/scheduler.log" &
    PIDS+=($!)
    addr=
    for _ in $(seq 400); do
        addr=$(head -n 1 "$TMP/scheduler.out" 2>/dev/null)
        [ -n "$addr" ] && break
        sleep 0.05
    done
    "$PREFIX/bin/drove" worker --scheduler "$addr" --threads 1 \
        >"$TMP/worker.out" 2>"$TMP/worker.log" &
    PIDS+=($!)
    expect cxx-daemons "cxx_prog: 9 12 24 4" "$TMP/cxx_prog" "$addr" \
        "$TMP/libcxxfns.so"
else
    fail "no C++ compiler ($CXX)"
fi

# 5. The README, followed literally.
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' "$SRC/README.md" \
    >"$TMP/tour.c"
"$CC" "${SANFLAGS[@]}" "$TMP/tour.c" "${CFLAGS_DROVE[@]}" "${LIBS_DROVE[@]}" \
    -o "$TMP/tour" >"$TMP/cc-tour.log" 2>&1 || die "the README's tour does not build"
expect tour "^12$" "$TMP/tour"
DROVE_SCHEDULER=tcp://127.0.0.1:1 timeout 20 "$TMP/tour" \
    >"$TMP/tour-bad.out" 2>"$TMP/tour-bad.log"
rc=$?
[ "$rc" != 0 ] || fail "the tour exits 0 with a scheduler that is not there"
grep -q "tcp://127.0.0.1:1" "$TMP/tour-bad.log" ||
    fail "the tour's error does not name the address: $(cat "$TMP/tour-bad.log")"
mkdir -p "$TMP/readme/elsewhere"
(
    cd "$TMP/readme" || exit 1
    { echo '#include <drove.h>'; sed -n '/^DV_FUNCTION(inc)/,/^}/p' \
        "$TMP/tour.c"; } >myfns.c
    "$CC" "${SANFLAGS[@]}" -shared -fPIC myfns.c "${CFLAGS_DROVE[@]}" \
        -o libmyfns.so &&
    "$CC" "${SANFLAGS[@]}" "$SRC/tests/integration/ctor_prog.c" \
        -Wl,--no-as-needed -L. -lmyfns -Wl,-rpath,'$ORIGIN' \
        "${CFLAGS_DROVE[@]}" "${LIBS_DROVE[@]}" -o prog &&
    mv prog libmyfns.so elsewhere/
) >"$TMP/cc-origin.log" 2>&1 || fail "the README's link line failed"
expect origin "ctor_prog: 101" "$TMP/readme/elsewhere/prog" local:processes=2

if [ "$failures" != 0 ]; then
    echo "linking_test: $failures failure(s)" >&2
    exit 1
fi
echo "linking_test: all passed"
