#!/usr/bin/env bash
# fuzz.sh: run every fuzz target of the module for a bounded time, one at a
# time, and stop at the first that fails.
#
# Usage: scripts/fuzz.sh [NAME...]
#   With names, run only the targets of those names (FuzzOpenChunk ...).
#
# Environment:
#   FUZZTIME          time for each target, as -fuzztime takes it (default 10s)
#   FUZZMINIMIZETIME  time to minimize each new input (default 1s); go's own
#                     default, 60s, would spend a short run minimizing
#
# Targets are found with: grep -rn '^func Fuzz' --include='*_test.go'
# A failing input is kept by go test in <package>/testdata/fuzz/<Target>/,
# from where go test -run '^<Target>$' <package> runs it again.
#
# Exit status: 0 every target passed; 1 a target failed (named on stderr);
# 2 no target found.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime="${FUZZTIME:-10s}"
minimizetime="${FUZZMINIMIZETIME:-1s}"

# "package name" lines, e.g. "./transfer FuzzOpenChunk", in a stable order.
targets="$(grep -rn '^func Fuzz' --include='*_test.go' . |
	grep -v -e '/testdata/' -e '/\.' |
	sed -E 's|^(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*$|\1 \2|' |
	sort -u)"
if [ -z "$targets" ]; then
	echo "fuzz.sh: error: no fuzz targets found" >&2
	exit 2
fi

ran=0
while read -r pkg name <&3; do
	if [ $# -gt 0 ]; then
		wanted=no
		for n in "$@"; do
			[ "$n" = "$name" ] && wanted=yes
		done
		[ "$wanted" = yes ] || continue
	fi
	echo "== $name ($pkg, $fuzztime)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg"; then
		echo "fuzz.sh: error: $name in $pkg failed" >&2
		echo "fuzz.sh: hint: the failing input is in $pkg/testdata/fuzz/$name/; go test -run '^$name\$' $pkg runs it again" >&2
		exit 1
	fi
	ran=$((ran + 1))
done 3<<<"$targets"

if [ "$ran" -eq 0 ]; then
	echo "fuzz.sh: error: no fuzz target named $*" >&2
	exit 2
fi
echo "fuzz.sh: $ran fuzz targets passed, $fuzztime each"
