#!/bin/sh
# The states example's transform (docs/pipelines.md): reads the city files
# of its datum under $DROVE_IN/states/<State>/<City>.json and writes to
# $DROVE_OUT, one file per what the mode names:
#   total  total.txt: how many cities and their population (glob "/")
#   state  <State>.txt: the state's cities and population (glob "/*")
#   city   <State>/<City>.txt: the city's population (globs "/*/*" and
#          "/California/*")
# Each spec lists this file in transform.code: drove copies it into the
# scratch directory (the command's working directory), and a change to it
# reprocesses every datum.
set -eu
mode=${1:?usage: summarize.sh total|state|city}
cd "$DROVE_IN/states"
pop() {
    sed -n 's/.*"population": *\([0-9]*\).*/\1/p' "$1"
}
case $mode in
total)
    cities=0
    people=0
    for f in */*.json; do
        people=$((people + $(pop "$f")))
        cities=$((cities + 1))
    done
    echo "$cities cities, population $people" >"$DROVE_OUT/total.txt"
    ;;
state)
    for d in */; do
        d=${d%/}
        people=0
        names=
        for f in "$d"/*.json; do
            people=$((people + $(pop "$f")))
            names="$names $(basename "$f" .json)"
        done
        echo "$d:$names (population $people)" >"$DROVE_OUT/$d.txt"
    done
    ;;
city)
    for f in */*.json; do
        state=${f%%/*}
        city=$(basename "$f" .json)
        mkdir -p "$DROVE_OUT/$state"
        echo "$city $(pop "$f")" >"$DROVE_OUT/$state/$city.txt"
    done
    ;;
*)
    echo "summarize.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
