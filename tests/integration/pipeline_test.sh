#!/usr/bin/env bash
# drove — integration: `drove pipeline`, as a user of Pachyderm's model
# would check it.
#
# Usage: pipeline_test.sh PATH/TO/drove SOURCE_DIR
# The states example (examples/pipelines) gives the datums Pachyderm's
# docs describe for each glob; a new city reprocesses only its datum; a
# no-op re-run processes nothing; a changed script reprocesses all; the
# output holds exactly the current datums' outputs; cross and union give
# the product and the sum; parallelism_spec caps the commands running at
# once, as their own timestamps show; a scheduler with two tcp workers
# gives the same outputs as the embedded default; a failing datum is
# retried, reported with its stderr, and the others' outputs stay and are
# not redone; a pipeline reading another's output follows it; bad specs,
# missing inputs, unknown keys and colliding outputs are errors naming
# what is wrong. Every command runs under `timeout`; daemons started here
# are killed on exit.
set -u
DROVE=${1:?usage: pipeline_test.sh PATH/TO/drove SOURCE_DIR}
SRC=${2:?usage: pipeline_test.sh PATH/TO/drove SOURCE_DIR}
TMP=$(mktemp -d /tmp/dvtest-pipe-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
unset DROVE_SCHEDULER DROVE_SCHEME DROVE_PROFILE
RUN_LIMIT=60
. "$SRC/tests/support/shtest.sh"

cleanup() {
    kill_pids
    [ -n "${DVT_KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# expect NAME RC PATTERN: the run NAME exited RC and its stdout and
# stderr hold PATTERN (grep -E).
expect() {
    if [ "$rc" != "$2" ]; then
        fail "$1: exit status $rc, want $2"
        show "$1"
    elif ! cat "$TMP/$1.out" "$TMP/$1.err" | grep -qE -- "$3"; then
        fail "$1: no '$3' in its output"
        show "$1"
    fi
}

# pipe NAME SPEC [RC] PATTERN: drove pipeline run SPEC, expecting RC
# (default 0) and PATTERN.
pipe() {
    local name=$1 spec=$2 want=0
    shift 2
    if [ $# = 2 ]; then
        want=$1
        shift
    fi
    run "$name" "$DROVE" pipeline run "$spec"
    expect "$name" "$want" "$1"
}

# files DIR: the files under DIR (relative, sorted), without the state.
files() {
    (cd "$1" && find . -type f ! -path './.drove/*' | sed 's|^\./||' | sort)
}

# same_files NAME GOT WANT: the two lists are equal.
same_files() {
    if [ "$2" != "$3" ]; then
        fail "$1: files differ"
        echo "got:" >&2
        echo "$2" >&2
        echo "want:" >&2
        echo "$3" >&2
    fi
}

EX=$TMP/ex
cp -r "$SRC/examples/pipelines" "$EX"
rm -rf "$EX/out"
cd "$EX" || exit 1
OUT=$EX/out

# ---- Help and usage -------------------------------------------------------
for sub in "" run list status inspect; do
    # shellcheck disable=SC2086
    run "help_$sub" "$DROVE" pipeline $sub --help
    expect "help_$sub" 0 "usage"
done
run usage "$DROVE" pipeline run
expect usage 2 "missing"
run usage2 "$DROVE" pipeline frobnicate
expect usage2 2 "frobnicate"

# ---- The states example: one pipeline per glob ----------------------------
pipe total states_total.json "states_total: 1 datum: 1 processed"
pipe each states_each.json "states_each: 3 datums: 3 processed"
pipe cities cities.json "cities: 7 datums: 7 processed"
pipe california california.json "california: 3 datums: 3 processed"
grep -q "description: a Pachyderm field drove does not implement" \
    "$TMP/california.err" || fail "no warning naming 'description'"
same_files "glob /" "$(files "$OUT/states_total")" "total.txt"
same_files "glob /*" "$(files "$OUT/states_each")" \
    "$(printf '%s\n' California.txt Colorado.txt Texas.txt)"
grep -q "^7 cities" "$OUT/states_total/total.txt" ||
    fail "states_total: one datum did not see all 7 cities"
grep -q "Los-Angeles San-Diego San-Francisco" \
    "$OUT/states_each/California.txt" ||
    fail "states_each: California's datum did not hold its 3 cities"
same_files "glob /California/*" "$(files "$OUT/california")" \
    "$(cd data/states && ls California/*.json | sed 's/json$/txt/')"

# An output's inode and mtime (ns): a file rewritten (a new file renamed
# over it) gets a new mtime, and a new inode unless the old one's number
# was reused.
inode() {
    stat -c '%i %y' "$1"
}
colorado=$(inode "$OUT/states_each/Colorado.txt")
denver=$(inode "$OUT/cities/Colorado/Denver.txt")

# ---- A new city: only its datum runs --------------------------------------
echo '{"name": "Sacramento", "population": 524943}' \
    >data/states/California/Sacramento.json
pipe each2 states_each.json "3 datums: 1 processed, 2 skipped"
pipe cities2 cities.json "8 datums: 1 processed, 7 skipped"
pipe california2 california.json "4 datums: 1 processed, 3 skipped"
grep -q Sacramento "$OUT/states_each/California.txt" ||
    fail "California's datum was not reprocessed with Sacramento"
[ "$(inode "$OUT/states_each/Colorado.txt")" = "$colorado" ] ||
    fail "Colorado.txt was rewritten though Colorado did not change"
[ "$(inode "$OUT/cities/Colorado/Denver.txt")" = "$denver" ] ||
    fail "Denver.txt was rewritten though Denver did not change"
[ -f "$OUT/cities/California/Sacramento.txt" ] ||
    fail "no output for the new city"

# ---- A no-op re-run processes nothing -------------------------------------
pipe noop cities.json "8 datums: 0 processed, 8 skipped, 0 failed"

# ---- A changed transform reprocesses everything ---------------------------
sed -i 's/"city"\]/"city", "again"]/' cities.json
pipe cmd cities.json "8 datums: 8 processed, 0 skipped"
[ "$(inode "$OUT/cities/Colorado/Denver.txt")" != "$denver" ] ||
    fail "a changed command did not reprocess Denver"
echo "# changed" >>summarize.sh
pipe code states_each.json "3 datums: 3 processed, 0 skipped"
pipe code_cities cities.json "8 datums: 8 processed, 0 skipped"

# ---- Deleting a city removes its output, and only it ----------------------
rm data/states/Texas/Austin.json
pipe delete cities.json "7 datums: 0 processed, 7 skipped, 0 failed, 1 removed"
pipe delete_each states_each.json "3 datums: 1 processed, 2 skipped"
same_files "cities after deleting Austin" "$(files "$OUT/cities")" \
    "$(cd data/states && ls */*.json | sed 's/json$/txt/')"
grep -q Austin "$OUT/states_each/Texas.txt" &&
    fail "Texas.txt still lists Austin"

# ---- status, list, inspect -------------------------------------------------
run status "$DROVE" pipeline status cities
expect status 0 "7 total, 0 processed, 7 skipped, 0 failed"
grep -q "states:/California/Sacramento.json" "$TMP/status.out" ||
    fail "status does not list the datum of Sacramento"
run status_json "$DROVE" pipeline status --json states_each
expect status_json 0 '"processed": 1'
id=$(grep -o '"id": "[0-9a-f]*"' "$TMP/status_json.out" | head -1 |
    sed 's/.*: "\(.*\)"/\1/')
run inspect "$DROVE" pipeline inspect states_each "${id:0:10}"
expect inspect 0 "in/states/California/Sacramento.json"
grep -q "California.txt" "$TMP/inspect.out" ||
    fail "inspect does not name the datum's output"
run list "$DROVE" pipeline list
expect list 0 "california"
for p in states_total states_each cities; do
    grep -q "^$p " "$TMP/list.out" || fail "list does not show $p"
done
run status_unknown "$DROVE" pipeline status nosuch
expect status_unknown 1 "no pipeline 'nosuch'"

# ---- Cross and union --------------------------------------------------------
mkdir -p letters
echo a >letters/a.txt
echo b >letters/b.txt
cat >cross.json <<'SPEC'
{
  "pipeline": {"name": "crossed"},
  "input": {"cross": [
    {"pfs": {"repo": "data/states", "glob": "/*"}},
    {"pfs": {"repo": "letters", "glob": "/*"}}
  ]},
  "transform": {"cmd": ["sh", "-c",
    "s=$(ls in/states); l=$(ls in/letters); find in -type f | sort > out/$s-$l"]}
}
SPEC
pipe cross cross.json "crossed: 6 datums: 6 processed"
same_files "cross" "$(files "$OUT/crossed")" "$(printf '%s\n' \
    California-a.txt California-b.txt Colorado-a.txt Colorado-b.txt \
    Texas-a.txt Texas-b.txt)"
grep -q "in/states/Colorado/Denver.json" "$OUT/crossed/Colorado-b.txt" &&
    grep -q "in/letters/b.txt" "$OUT/crossed/Colorado-b.txt" ||
    fail "a cross datum does not hold both inputs' files"
cat >union.json <<'SPEC'
{
  "pipeline": {"name": "unioned"},
  "input": {"union": [
    {"pfs": {"repo": "data/states", "glob": "/*"}},
    {"pfs": {"repo": "letters", "glob": "/*"}}
  ]},
  "transform": {"cmd": ["sh", "-c",
    "d=$(ls in); n=$(ls in/$d | head -1); find in -type f | sort > out/$d-$n"]}
}
SPEC
pipe union union.json "unioned: 5 datums: 5 processed"
same_files "union" "$(files "$OUT/unioned")" "$(printf '%s\n' \
    letters-a.txt letters-b.txt states-California states-Colorado \
    states-Texas)"

# ---- transform.stdin and transform.env reach the command ------------------
cat >stdin.json <<'SPEC'
{
  "pipeline": {"name": "stdin"},
  "input": {"pfs": {"repo": "letters", "glob": "/"}},
  "transform": {"cmd": ["sh", "-c", "cat > out/stdin.txt; echo \"$GREETING\" > out/env.txt"],
                "stdin": ["first line", "second line"],
                "env": {"GREETING": "hello pipeline"}}
}
SPEC
pipe stdin stdin.json "stdin: 1 datum: 1 processed"
[ "$(cat "$OUT/stdin/stdin.txt")" = "$(printf 'first line\nsecond line')" ] ||
    fail "transform.stdin: the command read '$(cat "$OUT/stdin/stdin.txt")'"
[ "$(cat "$OUT/stdin/env.txt")" = "hello pipeline" ] ||
    fail "transform.env: the command saw '$(cat "$OUT/stdin/env.txt")'"

# ---- parallelism_spec caps the commands running at once ------------------
mkdir -p many
for i in 1 2 3 4 5 6 7 8; do echo "$i" >"many/$i.txt"; done
# par NAME PARALLELISM: a spec whose commands log their start and end.
par() {
    cat >"$1.json" <<SPEC
{
  "pipeline": {"name": "$1"},
  "input": {"pfs": {"repo": "many", "glob": "/*"}},
  "transform": {
    "cmd": ["sh", "-c", "echo start \$(date +%s%N) >> \$LOG; sleep 0.4; echo end \$(date +%s%N) >> \$LOG; cp in/many/* out/"],
    "env": {"LOG": "$TMP/$1.log"}
  },
  "parallelism_spec": $2
}
SPEC
}
# overlap LOG: the most commands running at once, from their own clocks.
overlap() {
    sort -k2,2n "$1" | awk '$1 == "start" { n++; if (n > m) m = n }
                            $1 == "end" { n-- } END { print m + 0 }'
}
par par1 '{"constant": 1}'
par par3 '{"constant": 3}'
par parc '{"coefficient": 0.5}'
run par1 env DROVE_SCHEDULER=local:threads=4 "$DROVE" pipeline run par1.json
expect par1 0 "8 processed"
run par3 env DROVE_SCHEDULER=local:threads=4 "$DROVE" pipeline run par3.json
expect par3 0 "8 processed"
run parc env DROVE_SCHEDULER=local:threads=4 "$DROVE" pipeline run parc.json
expect parc 0 "8 processed"
[ "$(overlap "$TMP/par1.log")" = 1 ] ||
    fail "constant 1: $(overlap "$TMP/par1.log") commands ran at once"
[ "$(overlap "$TMP/par3.log")" = 3 ] ||
    fail "constant 3 on 4 threads: $(overlap "$TMP/par3.log") ran at once"
[ "$(overlap "$TMP/parc.log")" = 2 ] ||
    fail "coefficient 0.5 of 4 threads: $(overlap "$TMP/parc.log") at once"

# ---- A failing datum: retried, reported, the others kept -----------------
mkdir -p flaky
for f in good1 good2 good3 bad; do echo "$f" >"flaky/$f.txt"; done
cat >flaky.json <<SPEC
{
  "pipeline": {"name": "flaky"},
  "input": {"pfs": {"repo": "flaky", "glob": "/*"}},
  "transform": {
    "cmd": ["sh", "-c", "f=\$(ls in/flaky); echo \$f >> \$LOG; if [ \$f = bad.txt ]; then echo 'boom: bad input' >&2; exit 3; fi; cp in/flaky/\$f out/"],
    "env": {"LOG": "$TMP/flaky.log"}
  },
  "datum_tries": 2
}
SPEC
pipe flaky flaky.json 1 "flaky: 4 datums: 3 processed, 0 skipped, 1 failed"
expect flaky 1 "failed after 2 tries: exited with status 3"
expect flaky 1 "boom: bad input"
[ "$(grep -c bad.txt "$TMP/flaky.log")" = 2 ] ||
    fail "the bad datum ran $(grep -c bad.txt "$TMP/flaky.log") times, want 2"
same_files "flaky outputs" "$(files "$OUT/flaky")" \
    "$(printf '%s\n' good1.txt good2.txt good3.txt)"
pipe flaky2 flaky.json 1 "4 datums: 0 processed, 3 skipped, 1 failed"
[ "$(grep -c good "$TMP/flaky.log")" = 3 ] ||
    fail "the successful datums ran again: $(grep -c good "$TMP/flaky.log")"
run flaky_status "$DROVE" pipeline status flaky
expect flaky_status 0 "failed +flaky:/bad.txt"
echo fine >flaky/bad.txt
sed -i 's/bad.txt ]/never ]/' flaky.json
pipe flaky3 flaky.json "4 datums: 4 processed"

# ---- A pipeline reading another's output follows it ----------------------
cat >up.json <<'SPEC'
{
  "pipeline": {"name": "up"},
  "input": {"pfs": {"repo": "data/states", "glob": "/*"}},
  "transform": {"cmd": ["sh", "summarize.sh", "state"],
                "code": ["summarize.sh"]}
}
SPEC
cat >down.json <<'SPEC'
{
  "pipeline": {"name": "down"},
  "input": {"pfs": {"pipeline": "up", "glob": "/*"}},
  "transform": {"cmd": ["sh", "-c",
    "for f in in/up/*; do tr a-z A-Z < $f > out/$(basename $f); done"]}
}
SPEC
run down_first "$DROVE" pipeline run down.json
expect down_first 1 "no pipeline 'up'"
pipe up up.json "up: 3 datums: 3 processed"
pipe down down.json "down: 3 datums: 3 processed"
grep -q "COLORADO: BOULDER DENVER" "$OUT/down/Colorado.txt" ||
    fail "down did not read up's output"
echo '{"name": "Aspen", "population": 7004}' >data/states/Colorado/Aspen.json
# Running down brings up up to date first, then down processes only the
# state that changed upstream.
pipe down2 down.json "up: 3 datums: 1 processed, 2 skipped"
expect down2 0 "down: 3 datums: 1 processed, 2 skipped"
grep -q "COLORADO: ASPEN BOULDER DENVER" "$OUT/down/Colorado.txt" ||
    fail "down did not follow up's new output"
# Running up runs down after it.
rm data/states/Colorado/Aspen.json
pipe up2 up.json "down: 3 datums: 1 processed, 2 skipped"
grep -q "COLORADO: BOULDER DENVER" "$OUT/down/Colorado.txt" ||
    fail "down did not follow up when up ran"

# ---- Errors name what is wrong ---------------------------------------------
printf '{"pipeline": {"name": "bad"}, "input": {"pfs": {"repo": "data/states", "glob": "/*"}}, "transform": {"cmd": "ls"}}' >bad_cmd.json
pipe bad_cmd bad_cmd.json 1 "bad_cmd.json: transform.cmd: must be"
printf '{"pipeline": {"name": "nodir"}, "input": {"pfs": {"repo": "no/such", "glob": "/*"}}, "transform": {"cmd": ["true"]}}' >nodir.json
pipe nodir nodir.json 1 "$EX/no/such"
printf '{"pipeline": {"name": "typo"}, "input": {"pfs": {"repo": "data/states", "glob": "/*"}}, "transform": {"cmd": ["true"]}, "parallelism": 2}' >typo.json
pipe typo typo.json 1 "parallelism: unknown key"
printf '{"pipeline": {"name": "inside"}, "input": {"pfs": {"repo": "data", "glob": "/*"}}, "transform": {"cmd": ["true"]}, "output": "data/out"}' >inside.json
pipe inside inside.json 1 "output $EX/data/out and input 'data' \\($EX/data\\) overlap"
cat >clash.json <<'SPEC'
{
  "pipeline": {"name": "clash"},
  "input": {"pfs": {"repo": "data/states", "glob": "/*"}},
  "transform": {"cmd": ["sh", "-c", "ls in/states > out/same.txt"]}
}
SPEC
pipe clash clash.json 1 "datums [0-9a-f]{32} \(states:/[A-Za-z]+\) and [0-9a-f]{32} \(states:/[A-Za-z]+\) both write the output same.txt"
expect clash 1 "3 datums: 1 processed, 0 skipped, 2 failed"

# ---- The same outputs on a scheduler with two tcp workers -----------------
cp -r "$SRC/examples/pipelines" "$TMP/emb"
cp -r "$SRC/examples/pipelines" "$TMP/tcp"
rm -rf "$TMP/emb/out" "$TMP/tcp/out"
(cd "$TMP/emb" && for s in states_each cities; do
    timeout 60 "$DROVE" pipeline run "$s.json" || echo "EMBEDDED-FAILED $s"
done) >"$TMP/emb.out" 2>&1
TCP_HOME=$TMP/tcphome
DROVE_HOME=$TCP_HOME "$DROVE" scheduler --address tcp://127.0.0.1:0 \
    >"$TMP/sched.addr" 2>"$TMP/sched.log" &
PIDS="$PIDS $!"
for _ in $(seq 100); do
    [ -s "$TMP/sched.addr" ] && break
    sleep 0.1
done
addr=$(head -n 1 "$TMP/sched.addr")
if [ -z "$addr" ]; then
    fail "the scheduler printed no address"
    cat "$TMP/sched.log" >&2
else
    for w in w0 w1; do
        DROVE_HOME=$TCP_HOME "$DROVE" worker --scheduler "$addr" --threads 2 \
            --name "$w" 2>>"$TMP/worker.log" &
        PIDS="$PIDS $!"
    done
    cd "$TMP/tcp" || exit 1
    for s in states_each cities; do
        run "tcp_$s" env DROVE_HOME="$TCP_HOME" DROVE_SCHEDULER="$addr" \
            "$DROVE" pipeline run "$s.json"
        expect "tcp_$s" 0 "[0-9]+ processed, 0 skipped, 0 failed"
    done
    grep -q "EMBEDDED-FAILED" "$TMP/emb.out" && fail "$(cat "$TMP/emb.out")"
    if ! diff -r -x .drove "$TMP/emb/out" "$TMP/tcp/out" >"$TMP/diff" 2>&1 ||
        [ -z "$(files "$TMP/tcp/out/cities")" ]; then
        fail "outputs differ between the embedded cluster and tcp workers"
        cat "$TMP/diff" >&2
        cat "$TMP/sched.log" "$TMP/worker.log" >&2
    fi
    cd "$EX" || exit 1
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)" >&2
    exit 1
fi
echo "pipeline_test: all passed"
