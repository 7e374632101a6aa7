#!/usr/bin/env bash
# drove — integration: install, then build and run a user's program.
#
# Usage: install_test.sh SOURCE_DIR BUILD_DIR [SANITIZERS]
# Installs the build into a temporary prefix, checks the installed files,
# compiles tests/integration/client_prog.c (plain C using only drove.h) and
# its functions library (client_funcs.c, as libclientfuncs.so, which the
# program links) with `cc` and the installed pkg-config file, as an
# outside user would, and runs the same binary on the default cluster,
# local:threads=2, local:processes=2, and a tcp cluster of the installed
# `drove` daemons (also found through $DROVE_SCHEDULER). SANITIZERS (for
# a sanitizer build, e.g. address,undefined) is passed to cc as
# -fsanitize=..., since the installed library then needs its runtime.
set -u
SRC=${1:?usage: install_test.sh SOURCE_DIR BUILD_DIR [SANITIZERS]}
BUILD=${2:?usage: install_test.sh SOURCE_DIR BUILD_DIR [SANITIZERS]}
SAN=${3:-}
CC=${CC:-cc}
TMP=$(mktemp -d /tmp/dvtest-install-XXXXXX)
PREFIX=$TMP/prefix
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER
PIDS=()
failures=0

alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ]
}

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            alive "$pid" || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
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
    echo "install_test: stopping after $failures failure(s)" >&2
    exit 1
}

# 1. Install into the temporary prefix.
timeout 120 cmake --install "$BUILD" --prefix "$PREFIX" \
    >"$TMP/install.log" 2>&1 ||
    die "cmake --install $BUILD --prefix $PREFIX: $(cat "$TMP/install.log")"
for f in lib/libdrove.so lib/libdrove.a lib/pkgconfig/drove.pc \
    include/drove.h bin/drove; do
    [ -e "$PREFIX/$f" ] || fail "not installed: $f"
done
[ -x "$PREFIX/bin/drove" ] || fail "bin/drove is not executable"
[ "$failures" = 0 ] ||
    die "incomplete install: $(cd "$PREFIX" && find . | sort)"

# 2. Build the user's program and library with the installed pkg-config.
export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
CFLAGS_DROVE=$(pkg-config --cflags drove) || die "pkg-config --cflags drove"
LIBS_DROVE=$(pkg-config --libs drove) || die "pkg-config --libs drove"
case " $CFLAGS_DROVE " in
*" -I$PREFIX/include "*) ;;
*) fail "pkg-config --cflags drove = '$CFLAGS_DROVE', want -I$PREFIX/include" ;;
esac
SANFLAGS=()
if [ -n "$SAN" ]; then
    SANFLAGS=(-fsanitize="$SAN" -fno-omit-frame-pointer)
fi
# The functions library first: the program links it for the embedded
# clusters (--no-as-needed: the program calls none of its symbols, it only
# needs its DV_FUNCTIONs registered) and uploads it to daemons.
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Werror -shared -fPIC "${SANFLAGS[@]}" \
    -o "$TMP/libclientfuncs.so" "$SRC/tests/integration/client_funcs.c" \
    $CFLAGS_DROVE $LIBS_DROVE >"$TMP/cc-lib.log" 2>&1 ||
    die "compiling libclientfuncs.so failed: $(cat "$TMP/cc-lib.log")"
# shellcheck disable=SC2086
"$CC" -std=c11 -Wall -Werror "${SANFLAGS[@]}" -o "$TMP/client_prog" \
    "$SRC/tests/integration/client_prog.c" $CFLAGS_DROVE \
    -Wl,--no-as-needed "$TMP/libclientfuncs.so" -Wl,-rpath,"$TMP" \
    $LIBS_DROVE >"$TMP/cc-prog.log" 2>&1 ||
    die "compiling client_prog failed: $(cat "$TMP/cc-prog.log")"
# The program must run on the installed library, not on the build tree's.
if ! ldd "$TMP/client_prog" | grep -q "$PREFIX/lib/libdrove.so"; then
    fail "client_prog does not load $PREFIX/lib/libdrove.so:"
    ldd "$TMP/client_prog" >&2
fi

# run_prog NAME ARGS...: runs client_prog with a 60 s limit.
run_prog() {
    local name=$1
    shift
    timeout -k 5 60 "$TMP/client_prog" "$@" >"$TMP/$name.out" \
        2>"$TMP/$name.log"
    local rc=$?
    if [ "$rc" != 0 ] || ! grep -q "client_prog: ok.*sum 328350" \
        "$TMP/$name.out"; then
        fail "client_prog $* exited $rc: $(cat "$TMP/$name.out" \
            "$TMP/$name.log")"
    else
        echo "install_test: $(cat "$TMP/$name.out")"
    fi
}

# 3. Embedded clusters: no argument, threads, processes.
run_prog default
run_prog threads local:threads=2
run_prog processes local:processes=2

# 4. A tcp cluster of the installed daemons.
"$PREFIX/bin/drove" scheduler --address tcp://127.0.0.1:0 \
    >"$TMP/scheduler.out" 2>"$TMP/scheduler.log" &
PIDS+=($!)
addr=
for _ in $(seq 400); do
    if grep -q . "$TMP/scheduler.out" 2>/dev/null; then
        addr=$(head -n 1 "$TMP/scheduler.out")
        break
    fi
    alive "${PIDS[0]}" || break
    sleep 0.05
done
[[ "$addr" =~ ^tcp://127\.0\.0\.1:[0-9]+$ ]] ||
    die "the installed scheduler printed '$addr', want tcp://127.0.0.1:PORT"
for i in 0 1; do
    "$PREFIX/bin/drove" worker --scheduler "$addr" --threads 1 \
        --name "iw$i" >"$TMP/worker$i.out" 2>"$TMP/worker$i.log" &
    PIDS+=($!)
done
run_prog tcp "$addr" "$TMP/libclientfuncs.so" 2
DROVE_SCHEDULER=$addr run_prog env "" "$TMP/libclientfuncs.so" 2
# Both really ran on the daemons, whose names the program lists.
for name in tcp env; do
    grep -q "workers iw[01] iw[01]" "$TMP/$name.out" 2>/dev/null ||
        fail "client_prog ($name) did not list the daemons iw0 and iw1"
done

if [ "$failures" != 0 ]; then
    echo "install_test: $failures failure(s)" >&2
    exit 1
fi
echo "install_test: all passed"
