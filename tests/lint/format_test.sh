#!/bin/sh
# The layout of the C sources follows .clang-format (STYLE.md section 7):
# every file under src/ and include/ is as clang-format would write it.
#
# usage: sh tests/lint/format_test.sh SOURCE_DIR CLANG_FORMAT
set -u
dir=${1:?usage: format_test.sh SOURCE_DIR CLANG_FORMAT}
fmt=${2:?usage: format_test.sh SOURCE_DIR CLANG_FORMAT}
cd "$dir" || exit 1
find src include -name '*.[ch]' | sort | xargs "$fmt" --dry-run --Werror
