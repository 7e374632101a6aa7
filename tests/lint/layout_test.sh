#!/bin/sh
# The size limits of STYLE.md, checked: no source file in src/ over 800
# lines and no function over 80 lines (from the `{` that opens its body at
# the start of a line to the `}` that closes it). Long files and functions
# are where nouns get mixed and bugs hide; this keeps them from growing
# back. Prints each offender and exits 1 if there is one.
#
# usage: sh tests/lint/layout_test.sh SOURCE_DIR
set -u
src=${1:?usage: layout_test.sh SOURCE_DIR}/src
status=0
for f in $(find "$src" -name '*.[ch]' | sort); do
    n=$(wc -l <"$f")
    if [ "$n" -gt 800 ]; then
        echo "$f: $n lines (at most 800)"
        status=1
    fi
done
out=$(find "$src" -name '*.c' | sort | xargs awk '
    FNR == 1 { start = 0 }
    /^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name) }
    /^\{/ { start = FNR }
    /^\}/ && start {
        if (FNR - start + 1 > 80) {
            printf "%s:%d: %s is %d lines (at most 80)\n", FILENAME, start,
                name, FNR - start + 1
        }
        start = 0
    }')
if [ -n "$out" ]; then
    echo "$out"
    status=1
fi
exit $status
