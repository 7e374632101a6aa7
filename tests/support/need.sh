#!/bin/sh
# Installs the Debian packages named after the command when the command
# is missing: need.sh COMMAND PACKAGE... (tests that need real tools).
set -eu
cmd=$1
shift
command -v "$cmd" >/dev/null 2>&1 && exit 0
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "$@" >&2
command -v "$cmd" >/dev/null 2>&1
