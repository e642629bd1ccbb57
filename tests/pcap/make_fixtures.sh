#!/bin/sh
# Regenerates the pcap fixtures (tests/pcap/cases) with the generator built in BUILDDIR:
#   tests/pcap/make_fixtures.sh BUILDDIR
# Removes the old cases first, so that a case dropped from the generator disappears. Commit the
# result together with the generator change that made it.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILDDIR" >&2
    exit 2
fi
gen="$1/tests/make_fixtures"
[ -x "$gen" ] || { echo "$0: no $gen (ninja -C $1 tests/make_fixtures)" >&2; exit 1; }
cases="$(cd "$(dirname "$0")" && pwd)/cases"
rm -rf "$cases"
"$gen" "$cases"
