#!/bin/sh
# The states example of Pachyderm's docs on drove: one pipeline per glob
# pattern over data/states (a directory per state, a file per city).
#
#   states_total.json   glob "/"              one datum: every city
#   states_each.json    glob "/*"             one datum per state
#   cities.json         glob "/*/*"           one datum per city
#   california.json     glob "/California/*"  California's cities only
#
# usage: sh run.sh [PATH/TO/drove]   (default: drove on the PATH)
# Runs each pipeline (outputs in out/<pipeline>/, state in out/.drove/)
# and prints the outputs. Run it again: nothing is processed. Add a city
# under data/states/California/ and run it again: only the datums that
# hold it are. Exits non-zero if a pipeline fails or an output is missing.
set -eu
drove=${1:-drove}
cd "$(dirname "$0")"
for spec in states_total states_each cities california; do
    "$drove" pipeline run "$spec.json"
done
for f in out/states_total/total.txt out/states_each/California.txt \
    out/cities/Colorado/Denver.txt out/california/California/Los-Angeles.txt; do
    if [ ! -s "$f" ]; then
        echo "FAILED: no $f" >&2
        exit 1
    fi
done
for spec in states_total states_each cities california; do
    echo "== out/$spec"
    (cd "out/$spec" && find . -type f | sort | while read -r f; do
        echo "${f#./}: $(cat "$f")"
    done)
done
