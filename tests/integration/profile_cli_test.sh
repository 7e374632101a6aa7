#!/usr/bin/env bash
# drove — integration: `drove profile create|list|show|export`.
#
# Usage: profile_cli_test.sh PATH/TO/drove
# What a user sees: each subcommand's --help; mistakes named, with exit 2
# and nothing made; create making a profile's CA and certificates (0600 in
# a 0700 directory) and keeping them when run again; list and show saying
# whether a scheduler holds the profile's lock (a process holding it with
# flock(1) stands in for one) and where clients dial, show --json with the
# same facts, warnings about files others can read; export copying what a
# worker or a client needs and never the CA's key. All under a temporary
# DROVE_HOME; every command runs under `timeout`; what is started here is
# killed on exit.
set -u
DROVE=${1:?usage: profile_cli_test.sh PATH/TO/drove}
TMP=$(mktemp -d /tmp/dvtest-profile-XXXXXX)
export DROVE_HOME=$TMP/home
export XDG_RUNTIME_DIR=$TMP # workers' socket files (src/proto/samehost.h)
unset DROVE_PROFILE
HOLDER=
failures=0

cleanup() {
    if [ -n "$HOLDER" ]; then
        kill -TERM "$HOLDER" 2>/dev/null
        wait "$HOLDER" 2>/dev/null
    fi
    if [ -n "${LOCKER:-}" ]; then
        kill -TERM "$LOCKER" 2>/dev/null
        wait "$LOCKER" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# run NAME CMD...: runs CMD with a 20 s limit, stdout to $TMP/NAME.out,
# stderr to $TMP/NAME.err; sets rc.
run() {
    local name=$1
    shift
    timeout -k 5 20 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        fail "$name: '$*' did not finish within 20 s"
    fi
}

show() {
    echo "---- $1: stdout ----" >&2
    cat "$TMP/$1.out" >&2
    echo "---- $1: stderr ----" >&2
    cat "$TMP/$1.err" >&2
}

# want_rc NAME RC: the last run exited RC.
want_rc() {
    if [ "$rc" != "$2" ]; then
        fail "$1: exited $rc, want $2"
        show "$1"
    fi
}

# has NAME out|err TEXT: the run's stdout or stderr contains TEXT.
has() {
    if ! grep -qF -- "$3" "$TMP/$1.$2"; then
        fail "$1: std$2 does not contain '$3'"
        show "$1"
    fi
}

# lacks NAME out|err TEXT
lacks() {
    if grep -qF -- "$3" "$TMP/$1.$2"; then
        fail "$1: std$2 contains '$3'"
        show "$1"
    fi
}

# mode PATH: the octal mode, e.g. 600.
mode() {
    stat -c %a "$1"
}

# valid_json NAME: stdout parses as JSON (checked when jq is installed).
valid_json() {
    if command -v jq >/dev/null && ! jq -e . "$TMP/$1.out" >/dev/null; then
        fail "$1: stdout is not JSON"
        show "$1"
    fi
}

FILES="ca.pem ca.key scheduler.pem scheduler.key worker.pem worker.key
client.pem client.key"

# ---- Help ------------------------------------------------------------------

run help "$DROVE" --help
want_rc help 0
has help out "profile"

run help-profile "$DROVE" profile --help
want_rc help-profile 0
for sub in create list show export; do
    has help-profile out "  $sub "
done
has help-profile out "DROVE_HOME"

for sub in create list show export; do
    run "help-$sub" "$DROVE" profile "$sub" --help
    want_rc "help-$sub" 0
    has "help-$sub" out "usage: drove profile $sub"
done
has help-create out "--host"
has help-create out "--profile"
has help-create out "DROVE_PROFILE"
has help-list out "--json"
has help-show out "--json"
has help-export out "--client"
has help-export out "[NAME] DIR"

# ---- Mistakes: exit 2, named, nothing made ---------------------------------

run bare "$DROVE" profile
want_rc bare 2
has bare err "usage: drove profile"

# name ARGS... | TEXT: each case is "args|what the error names".
while IFS='|' read -r args text; do
    [ -n "$args" ] || continue
    name="bad-$(echo "$args" | tr -c 'a-z0-9' '-')"
    # shellcheck disable=SC2086
    run "$name" "$DROVE" profile $args
    want_rc "$name" 2
    has "$name" err "$text"
done <<'EOF'
bogus|'bogus'
create a b|'b'
create a/b|'a/b'
create .hidden|'.hidden'
create --host|'--host' needs a value
create --host bad!host|'bad!host'
create --nope|'--nope'
list extra|'extra'
list --json=yes|'--json' takes no value
show x y|'y'
show --json=1|'--json' takes no value
show -x|'-x'
export|missing DIR
export --client|missing DIR
export a b c|'c'
export bad/name dir|'bad/name'
EOF
if [ -e "$DROVE_HOME" ]; then
    fail "mistakes made $DROVE_HOME"
    ls -laR "$DROVE_HOME" >&2
fi
DROVE_PROFILE=no/slash run bad-env "$DROVE" profile show
want_rc bad-env 2
has bad-env err "'no/slash'"

# Nothing there yet.
run list-empty "$DROVE" profile list
want_rc list-empty 0
has list-empty err "no profiles in $DROVE_HOME"
[ -s "$TMP/list-empty.out" ] && fail "list printed profiles in an empty home"
run show-missing "$DROVE" profile show ghost
want_rc show-missing 1
has show-missing err "no profile 'ghost'"
run export-missing "$DROVE" profile export ghost "$TMP/x"
want_rc export-missing 1
has export-missing err "no profile 'ghost'"

# ---- create ----------------------------------------------------------------

run create "$DROVE" profile create
want_rc create 0
DIR=$DROVE_HOME/profile_default
has create out "created profile 'default' in $DIR"
[ "$(mode "$DIR")" = 700 ] || fail "$DIR is mode $(mode "$DIR"), want 700"
[ "$(mode "$DIR/logs")" = 700 ] || fail "$DIR/logs is not mode 700"
for f in $FILES; do
    if [ ! -f "$DIR/$f" ]; then
        fail "create made no $f"
    elif [ "$(mode "$DIR/$f")" != 600 ]; then
        fail "$f is mode $(mode "$DIR/$f"), want 600"
    fi
done
# shellcheck disable=SC2086 # FILES is a list of names
sums=$(cd "$DIR" && sha256sum $FILES)

run create-again "$DROVE" profile create default
want_rc create-again 0
has create-again out "exists"
has create-again out "kept  ca.key"
lacks create-again out "made"
# shellcheck disable=SC2086
[ "$sums" = "$(cd "$DIR" && sha256sum $FILES)" ] ||
    fail "create on an existing profile changed its files"

# A lost role certificate is made again, the rest kept.
rm -f "$DIR/client.key"
run create-mend "$DROVE" profile create
want_rc create-mend 0
has create-mend out "made  client.key"
has create-mend out "kept  ca.pem"

# More names for the scheduler's certificate.
run create-hosts "$DROVE" profile create second --host node7.example \
    --host 10.9.8.7
want_rc create-hosts 0
has create-hosts out "created profile 'second'"
has create-hosts out "DROVE_PROFILE=second"
run show-hosts "$DROVE" profile show second
has show-hosts out "node7.example, 10.9.8.7"
# A kept scheduler certificate that lacks a name asked for: said, exit 1.
run create-kept-hosts "$DROVE" profile create second --host other.example
want_rc create-kept-hosts 1
has create-kept-hosts err "does not name 'other.example'"
has create-kept-hosts out "kept  scheduler.pem"

# The name from the argument, else --profile, else $DROVE_PROFILE.
DROVE_PROFILE=envp run create-env "$DROVE" profile create
has create-env out "created profile 'envp'"
DROVE_PROFILE=envp run create-flag "$DROVE" profile create --profile flagp
has create-flag out "created profile 'flagp'"
run create-arg "$DROVE" profile create argp --profile nope
has create-arg out "created profile 'argp'"
[ -e "$DROVE_HOME/profile_nope" ] && fail "create made the --profile one"

# ---- list and show ---------------------------------------------------------

run list "$DROVE" profile list
want_rc list 0
got=$(awk '{print $1}' "$TMP/list.out" | tr '\n' ' ')
[ "$got" = "argp default envp flagp second " ] ||
    fail "list gave '$got', want 'argp default envp flagp second '"
grep -q "^second .*no scheduler running .* -$" "$TMP/list.out" ||
    fail "list: second is not shown stopped and without address"

# A scheduler of "second": its connection file, and its lock held.
S=$DROVE_HOME/profile_second
cat >"$S/connection.json" <<'EOF'
{"profile": "second", "client_address": "tcp://127.0.0.1:7001",
 "worker_address": "tcp://127.0.0.1:7002", "pid": 1}
EOF
chmod 600 "$S/connection.json"
(umask 077 && : >"$S/scheduler.lock")
if command -v flock >/dev/null; then
    # flock(1) holds the lock and runs sh, which writes its pid and
    # becomes sleep: the pid in the file is the holder's, as a
    # scheduler's would be.
    # shellcheck disable=SC2016 # $$ and $1 are the inner sh's
    flock "$S/scheduler.lock" sh -c 'echo $$ >"$1"; exec sleep 60' sh \
        "$S/scheduler.lock" &
    LOCKER=$!
    for _ in $(seq 100); do
        HOLDER=$(cat "$S/scheduler.lock" 2>/dev/null)
        [ -n "$HOLDER" ] && break
        sleep 0.05
    done
    [ -n "$HOLDER" ] || fail "flock(1) did not take the lock within 5 s"
else
    echo "profile_cli_test: no flock(1): the running state is not tested" >&2
fi

run list-running "$DROVE" profile list
if [ -n "$HOLDER" ]; then
    grep -q "^second .*scheduler running (pid $HOLDER) .*tcp://127.0.0.1:7001$" \
        "$TMP/list-running.out" ||
        { fail "list does not show second running as pid $HOLDER"; show list-running; }
fi
grep -q "^default .*no scheduler running" "$TMP/list-running.out" ||
    fail "list shows default running"
run list-json "$DROVE" profile list --json
want_rc list-json 0
valid_json list-json
has list-json out '"name": "second"'

run show "$DROVE" profile show second
want_rc show 0
has show out "directory    $S"
has show out "clients dial tcp://127.0.0.1:7001"
has show out "workers dial tcp://127.0.0.1:7002"
[ -n "$HOLDER" ] && has show out "scheduler    running (pid $HOLDER)"
has show out "0600  ca.key"
has show out "0700  logs/"
has show out "O=drove, OU=worker, CN=worker"
has show out "expires 20"
lacks show err "warning"

run show-json "$DROVE" profile show second --json
want_rc show-json 0
valid_json show-json
has show-json out '"name": "second"'
has show-json out "\"dir\": \"$S\""
has show-json out '"client_address": "tcp://127.0.0.1:7001"'
has show-json out '"worker_address": "tcp://127.0.0.1:7002"'
if [ -n "$HOLDER" ]; then
    has show-json out '"running": true'
    has show-json out "\"pid\": $HOLDER,"
fi
has show-json out '"not_after": '
has show-json out '"node7.example"'

run show-json-default "$DROVE" profile show --json
has show-json-default out '"name": "default"'
has show-json-default out '"running": false'
has show-json-default out '"pid": null'
has show-json-default out '"client_address": null'

# Files others could read are warned about (and still shown).
chmod 644 "$DIR/worker.key"
chmod 755 "$DIR"
run show-modes "$DROVE" profile show
want_rc show-modes 0
has show-modes out "0644  worker.key"
has show-modes err "warning: $DIR/worker.key is mode 0644, not 0600"
has show-modes err "warning: $DIR is mode 0755, not 0700"
run show-modes-json "$DROVE" profile show --json
has show-modes-json out "worker.key is mode 0644"
chmod 600 "$DIR/worker.key"
chmod 700 "$DIR"

# The holder gone, the kernel drops the lock: not running any more.
if [ -n "$HOLDER" ]; then
    kill -TERM "$HOLDER" "$LOCKER" 2>/dev/null
    wait "$LOCKER" 2>/dev/null
    HOLDER=''
    LOCKER=
    run list-stopped "$DROVE" profile list
    grep -q "^second .*no scheduler running .*tcp://127.0.0.1:7001$" \
        "$TMP/list-stopped.out" ||
        { fail "list still shows second running"; show list-stopped; }
fi

# ---- export ----------------------------------------------------------------

# only DIR FILES...: DIR holds exactly these files (and logs/).
only() {
    local dir=$1
    shift
    local got want
    got=$(for f in "$dir"/* "$dir"/.[!.]*; do
        [ -e "$f" ] && [ "${f##*/}" != logs ] && echo "${f##*/}"
    done | sort | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "$dir holds '$got', want '$want'"
    [ "$(mode "$dir")" = 700 ] || fail "$dir is not mode 700"
    for f in "$@"; do
        [ "$(mode "$dir/$f")" = 600 ] || fail "$dir/$f is not mode 600"
    done
}

run export "$DROVE" profile export second "$TMP/w"
want_rc export 0
only "$TMP/w/profile_second" ca.pem worker.pem worker.key connection.json
[ -e "$TMP/w/profile_second/ca.key" ] && fail "export copied ca.key"
has export out "$TMP/w/profile_second"
has export out "DROVE_HOME=$TMP/w DROVE_PROFILE=second drove worker"
has export out "scp -r $TMP/w"
has export err "127.0.0.1:7002, which another machine cannot reach"
cmp -s "$S/worker.key" "$TMP/w/profile_second/worker.key" ||
    fail "the exported worker.key differs"
# drove finds it with DROVE_HOME=DIR: a worker's profile.
DROVE_HOME=$TMP/w run export-show "$DROVE" profile show second --json
want_rc export-show 0
has export-show out '"ca_key": false'
has export-show out '"client_address": "tcp://127.0.0.1:7001"'
grep -A3 '"roles"' "$TMP/export-show.out" | tr -d ' \n' |
    grep -q '"roles":\["worker"\]' || fail "the export holds more than a worker's"
# It cannot become a scheduler's.
DROVE_HOME=$TMP/w run export-create "$DROVE" profile create second
want_rc export-create 1
has export-create err "ca.key"
[ -e "$TMP/w/profile_second/ca.key" ] && fail "create made a CA key"

run export-client "$DROVE" profile export second "$TMP/c" --client
want_rc export-client 0
only "$TMP/c/profile_second" ca.pem client.pem client.key connection.json
has export-client out "profile:second"
has export-client out "DROVE_HOME=$TMP/c DROVE_PROFILE=second"

# NAME from $DROVE_PROFILE; no scheduler ran: no connection file, said so.
DROVE_PROFILE=envp run export-env "$DROVE" profile export "$TMP/e"
want_rc export-env 0
only "$TMP/e/profile_envp" ca.pem worker.pem worker.key
has export-env err "no scheduler has run with profile 'envp'"

run export-self "$DROVE" profile export default "$DROVE_HOME"
want_rc export-self 1
has export-self err "its own"

if [ "$failures" != 0 ]; then
    echo "profile_cli_test: $failures failure(s)" >&2
    exit 1
fi
echo "profile_cli_test: all passed"
