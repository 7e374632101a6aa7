#!/usr/bin/env bash
# drove — integration: `drove map`, GNU parallel for the cluster.
#
# Usage: map_test.sh PATH/TO/drove
# What a user of GNU parallel would check: the same commands print the
# same output as parallel (sorted, and in order with -k) for replacement
# strings, combinations, :::: files, stdin and --tag; every one of 1,000
# jobs reports; failures show in the joblog and the exit status; --resume,
# --resume-failed, --halt, --timeout, --retries and --dry-run do what
# parallel's do; bad options are named. Then the same on a scheduler and
# two workers over TCP. Every command runs under `timeout`; the daemons
# started here are killed on exit.
set -u
DROVE=${1:?usage: map_test.sh PATH/TO/drove}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/dvtest-map-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
mkdir -p "$DROVE_HOME"
unset DROVE_SCHEDULER DROVE_SCHEME
. "$HERE/../support/shtest.sh"

cleanup() {
    kill_pids
    rm -rf "$TMP"
}
trap cleanup EXIT

# want_rc NAME RC: the last run exited RC.
want_rc() {
    if [ "$rc" != "$2" ]; then
        fail "$1: exit status $rc, want $2"
        show "$1"
    fi
}

# same NAME SORT ARGS...: drove map and GNU parallel, given the same
# ARGS (and the same stdin, from $TMP/stdin), print the same (sorted
# first when SORT is "sort").
same() {
    local name=$1 how=$2
    shift 2
    run "$name.parallel" parallel --will-cite "$@" <"$TMP/stdin"
    run "$name" "$DROVE" map --no-bar "$@" <"$TMP/stdin"
    want_rc "$name" 0
    if [ "$how" = sort ]; then
        sort "$TMP/$name.out" >"$TMP/$name.a"
        sort "$TMP/$name.parallel.out" >"$TMP/$name.b"
    else
        cp "$TMP/$name.out" "$TMP/$name.a"
        cp "$TMP/$name.parallel.out" "$TMP/$name.b"
    fi
    if ! cmp -s "$TMP/$name.a" "$TMP/$name.b"; then
        fail "$name: drove map $* differs from parallel's output"
        diff "$TMP/$name.b" "$TMP/$name.a" | head -n 20 >&2
    fi
}

sh "$HERE/../support/need.sh" parallel parallel ||
    { echo "map_test: GNU parallel could not be installed" >&2; exit 1; }
cd "$TMP" || exit 1
: >"$TMP/stdin"

# --help documents the options; bad ones exit 2, named.
run help "$DROVE" map --help
want_rc help 0
for opt in --jobs --keep-order --tag --joblog --resume --resume-failed \
    --retries --timeout --halt --dry-run ":::" "::::" "{/.}" "{#}"; do
    grep -q -- "$opt" "$TMP/help.out" ||
        fail "drove map --help does not mention $opt"
done
run bad1 "$DROVE" map --no-such-option echo ::: a
want_rc bad1 2
grep -q -- "--no-such-option" "$TMP/bad1.err" ||
    fail "drove map --no-such-option: the error does not name it"
run bad2 "$DROVE" map -j 0 echo ::: a
want_rc bad2 2
grep -q -- "--jobs" "$TMP/bad2.err" || fail "-j 0: the error does not name --jobs"
run bad3 "$DROVE" map --halt sometimes echo ::: a
want_rc bad3 2
grep -q -- "--halt" "$TMP/bad3.err" || fail "--halt sometimes: not named"
run bad4 "$DROVE" map --resume echo ::: a
want_rc bad4 2
grep -q -- "--joblog" "$TMP/bad4.err" || fail "--resume alone: not named"
run bad5 "$DROVE" map echo :::: "$TMP/no-such-file"
want_rc bad5 2
grep -q -- "no-such-file" "$TMP/bad5.err" || fail "a missing :::: file: not named"

# 1,000 jobs: every output, once; status 0.
seq 1000 >"$TMP/seq"
run many "$DROVE" map --no-bar echo ::: $(seq 1000)
want_rc many 0
sort -n "$TMP/many.out" | cmp -s - "$TMP/seq" ||
    fail "drove map echo over 1,000 arguments: outputs missing or extra"

# The same output as GNU parallel.
paths=(/a/b.c/d.tar.gz d.x ./e / "" a.b/ "x y" "it's" "a*b" "$HOME/.f")
rpl='echo {} {.} {/} {//} {/.} {#}'
same rpl sort "$rpl" ::: "${paths[@]}"
same rpl-k keep -k "$rpl" ::: "${paths[@]}"
same combo keep -k 'echo {2} {1} {1/.} {2.}' ::: a.x b/c ::: 1 2 3
same combo-sort sort echo ::: a b ::: c d ::: e f
printf 'f1\nf 2\nf3.x\n' >"$TMP/file1"
printf 'g1\n\ng3\n' >"$TMP/file2"
same files keep -k echo {1} {2.} :::: "$TMP/file1" "$TMP/file2"
same mixed keep -k echo ::: a b :::: "$TMP/file1"
printf 'l1\nl 2\nl3.c\n' >"$TMP/stdin"
same stdin keep -k echo '{.}' '{#}'
same stdin-sort sort echo
: >"$TMP/stdin"
same tag keep -k --tag 'echo x {}; echo y' ::: a 'b c' ::: d
same tag-sort sort --tag echo ::: 1 2 3 4
same nocmd keep -k ::: 'echo a' 'echo b  c' 'echo {} x'
same quote keep -k echo ::: 'a  b' '$HOME' '`id`' "'" '"' 'a;b' '~'

# Output is grouped: a job's lines stay together, its stdout before its
# stderr, though the jobs run at once.
run group "$DROVE" map --no-bar -j4 \
    'for i in 1 2 3; do echo {}-$i; sleep 0.05; done; echo {}-err >&2' \
    ::: a b c d
want_rc group 0
awk '{ split($0, p, "-"); if (p[1] != last) { n[p[1]]++ } last = p[1] }
     END { for (k in n) if (n[k] != 1) exit 1 }' "$TMP/group.out" ||
    fail "drove map -j4: jobs' output lines interleaved"
run group2 sh -c "'$DROVE' map --no-bar -j4 'echo {}-out; echo {}-err >&2' \
    ::: a b c d 2>&1"
for x in a b c d; do
    grep -A1 "^$x-out" "$TMP/group2.out" | grep -q "^$x-err" ||
        fail "job $x: its stderr does not follow its stdout"
done

# Large outputs (past a pipe's 64 KiB, past what a task's completion
# carries) arrive whole.
run big "$DROVE" map --no-bar -j2 'head -c {} /dev/zero' ::: 1000000 3000000
want_rc big 0
[ "$(wc -c <"$TMP/big.out")" = 4000000 ] ||
    fail "two jobs of 1 and 3 MB of output gave $(wc -c <"$TMP/big.out") bytes"

# Failing jobs: the joblog says which (Exitval), the status counts them.
run fails "$DROVE" map --no-bar --joblog "$TMP/jl" 'exit {}' ::: 0 3 0 4 5
want_rc fails 3
head -n 1 "$TMP/jl" | grep -qx \
    "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" ||
    fail "joblog header is not parallel's"
got=$(awk -F'\t' 'NR > 1 { print $1 ":" $7 }' "$TMP/jl" | sort | tr '\n' ' ')
[ "$got" = "1:0 2:3 3:0 4:4 5:5 " ] ||
    fail "joblog Seq:Exitval is '$got', want '1:0 2:3 3:0 4:4 5:5 '"
awk -F'\t' 'NR > 1 && ($3 !~ /^[0-9]+\.[0-9][0-9][0-9]$/ ||
    $4 !~ /^ *[0-9]+\.[0-9][0-9][0-9]$/ || length($4) != 10) { exit 1 }' \
    "$TMP/jl" || fail "joblog Starttime/JobRuntime not as parallel prints"
run fails101 "$DROVE" map --no-bar false ::: $(seq 105)
want_rc fails101 101

# --dry-run prints parallel's command lines and runs nothing.
run dry "$DROVE" map --dry-run 'touch {}.ran; echo {}' ::: 'a b' c
want_rc dry 0
run dry.parallel parallel --will-cite -k --dry-run 'touch {}.ran; echo {}' \
    ::: 'a b' c
cmp -s "$TMP/dry.out" "$TMP/dry.parallel.out" ||
    fail "--dry-run prints other lines than parallel's"
ls "$TMP"/*.ran >/dev/null 2>&1 && fail "--dry-run ran a job"

# --resume runs only the jobs not in the joblog; --resume-failed reruns
# the failed ones.
run res1 "$DROVE" map --no-bar --joblog "$TMP/jr" echo ::: 1 2 3
run res2 "$DROVE" map --no-bar --joblog "$TMP/jr" --resume echo \
    ::: 1 2 3 4 5
want_rc res2 0
[ "$(sort "$TMP/res2.out" | tr '\n' ' ')" = "4 5 " ] ||
    fail "--resume ran '$(tr '\n' ' ' <"$TMP/res2.out")', want '4 5'"
[ "$(grep -c . "$TMP/jr")" = 6 ] || fail "--resume did not append to the joblog"
run rf1 "$DROVE" map --no-bar --joblog "$TMP/jf" 'exit {}' ::: 0 1 0 2
want_rc rf1 2
run rf2 "$DROVE" map --no-bar --joblog "$TMP/jf" --resume-failed \
    'echo ran {}' ::: 0 1 0 2
want_rc rf2 0
[ "$(sort "$TMP/rf2.out" | tr '\n' ' ')" = "ran 1 ran 2 " ] ||
    fail "--resume-failed ran '$(tr '\n' ' ' <"$TMP/rf2.out")'"

# --halt now,fail=1 stops at the first failure, with its status.
t0=$(date +%s)
run halt "$DROVE" map --no-bar -j2 --joblog "$TMP/jh" --halt now,fail=1 \
    'sleep {}; exit 7' ::: 0.2 8 8 8 8 8
t1=$(date +%s)
want_rc halt 7
[ $((t1 - t0)) -lt 6 ] || fail "--halt now,fail=1 took $((t1 - t0)) s"
[ "$(grep -c . "$TMP/jh")" -le 3 ] || fail "--halt now,fail=1 went on"
run soon "$DROVE" map --no-bar -j1 --halt soon,fail=2 'exit 1' ::: 1 2 3 4
want_rc soon 2

# --timeout kills a sleep 10: the job fails, Exitval -1 and Signal 15.
t0=$(date +%s)
run tmo "$DROVE" map --no-bar --timeout 1 --joblog "$TMP/jt" sleep ::: 10 0
t1=$(date +%s)
want_rc tmo 1
[ $((t1 - t0)) -lt 6 ] || fail "--timeout 1 let sleep 10 run $((t1 - t0)) s"
grep -q "$(printf '\t-1\t15\tsleep 10')" "$TMP/jt" ||
    fail "--timeout: the joblog does not say -1 and signal 15"

# A drove map killed by TERM (or ^C) stops its jobs, which run in
# process groups of their own, and exits 128 + 15.
"$DROVE" map --no-bar sleep ::: 47.25 47.5 >"$TMP/term.out" 2>"$TMP/term.err" &
mp=$!
sleep 1
kill -TERM "$mp"
rc=
for _ in $(seq 50); do
    kill -0 "$mp" 2>/dev/null || { wait "$mp"; rc=$?; break; }
    sleep 0.1
done
[ "$rc" = 143 ] || fail "drove map after TERM: exit status '$rc', want 143"
sleep 0.5
pgrep -f "sleep 47.[25]" >/dev/null &&
    fail "drove map after TERM left its jobs running"

# --retries: a job that fails twice, then succeeds, succeeds.
run retry "$DROVE" map --no-bar --retries 2 \
    'n=$(cat {}.n 2>/dev/null || echo 0); echo $((n + 1)) >{}.n; [ $n -ge 2 ]' \
    ::: r1
want_rc retry 0
[ "$(cat "$TMP/r1.n")" = 3 ] || fail "--retries 2 ran the job $(cat "$TMP/r1.n") times"

# ---- On a scheduler and two workers over TCP ------------------------
"$DROVE" scheduler --address tcp://127.0.0.1:0 >"$TMP/sched.out" \
    2>"$TMP/sched.err" &
PIDS="$PIDS $!"
addr=
for _ in $(seq 200); do
    addr=$(head -n 1 "$TMP/sched.out" 2>/dev/null)
    [ -n "$addr" ] && break
    sleep 0.05
done
if [ -z "$addr" ]; then
    fail "the scheduler did not start"
    show sched
else
    for w in 1 2; do
        "$DROVE" worker --scheduler "$addr" --threads 2 \
            >"$TMP/worker$w.out" 2>"$TMP/worker$w.err" &
        PIDS="$PIDS $!"
    done
    export DROVE_SCHEDULER=$addr
    # Both workers in: the default -j is their 4 threads.
    for _ in $(seq 100); do
        timeout 10 "$DROVE" cluster status 2>/dev/null |
            grep -q '^2 workers' && break
        sleep 0.1
    done
    same tcp keep -k --tag "$rpl" ::: "${paths[@]}"
    run tcpmany "$DROVE" map --no-bar --joblog "$TMP/jtcp" \
        'echo {}; exit $(( {} % 50 == 0 ))' ::: $(seq 200)
    want_rc tcpmany 4
    sort -n "$TMP/tcpmany.out" | cmp -s - <(seq 200) ||
        fail "tcp: outputs of 200 jobs missing or extra"
    [ "$(awk -F'\t' 'NR > 1 && $7 == 1' "$TMP/jtcp" | wc -l)" = 4 ] ||
        fail "tcp: the joblog does not show the 4 failed jobs"
    unset DROVE_SCHEDULER
fi

if [ "$failures" -gt 0 ]; then
    echo "map_test: $failures failure(s)" >&2
    exit 1
fi
echo "map_test: ok"
