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

# inputs counts the failing inputs kept for a target.
inputs() {
	if [ -d "$1/testdata/fuzz/$2" ]; then
		find "$1/testdata/fuzz/$2" -type f | wc -l
	else
		echo 0
	fi
}

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
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
	# Go's fuzzer sometimes reports "context deadline exceeded" when the
	# time is up while a worker is busy (a loaded machine), with no input
	# that fails. Such a run is tried once more; a failure that left an
	# input is not.
	for try in 1 2; do
		before="$(inputs "$pkg" "$name")"
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg" 2>&1 | tee "$log"; then
			break
		fi
		after="$(inputs "$pkg" "$name")"
		if [ "$try" = 1 ] && [ "$after" = "$before" ] && grep -q 'context deadline exceeded' "$log"; then
			echo "fuzz.sh: $name timed out without a failing input; trying it again"
			continue
		fi
		echo "fuzz.sh: error: $name in $pkg failed" >&2
		echo "fuzz.sh: hint: the failing input is in $pkg/testdata/fuzz/$name/; go test -run '^$name\$' $pkg runs it again" >&2
		exit 1
	done
	ran=$((ran + 1))
done 3<<<"$targets"

if [ "$ran" -eq 0 ]; then
	echo "fuzz.sh: error: no fuzz target named $*" >&2
	exit 2
fi
echo "fuzz.sh: $ran fuzz targets passed, $fuzztime each"
