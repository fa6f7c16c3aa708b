#!/usr/bin/env bash
# Prints THIRD_PARTY_LICENSES.txt for the binaries of one platform: the
# licence, notice and patent files of Go's standard library and runtime and
# of every module that go list says the commands link, read from the module
# cache, in sorted order. A module without such a file stops it: its
# licence must be found by hand, not left out.
#
#   GOOS=windows GOARCH=amd64 scripts/licenses.sh VERSION ./cmd/sender ./cmd/receiver > THIRD_PARTY_LICENSES.txt
set -euo pipefail
export LC_ALL=C
GO=${GO:-go}
version=$1
shift

goos=$($GO env GOOS)
goarch=$($GO env GOARCH)
goroot=$($GO env GOROOT)
# Path, version and folder of each module linked in, the main module aside.
# A replaced module's files are those of its replacement.
modules=$($GO list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{with .Replace}}{{.Dir}}{{else}}{{.Dir}}{{end}}{{end}}{{end}}' "$@" | sort -u)

# files DIR: the licence, notice and patent files at the top of DIR, and in
# a LICENSES folder (REUSE), one a line, sorted.
files() {
	find "$1" -maxdepth 1 -type f | grep -iE '/(licen[cs]e|copying|notice|patents|unlicense)[^/]*$' || true
	if [ -d "$1/LICENSES" ]; then find "$1/LICENSES" -maxdepth 1 -type f; fi
}

rule='================================================================================'
cat <<HEAD
Third-party licences: imageshare $version for $goos/$goarch

The programs in this archive (sender, receiver, relay, dicomgen) are built
with Go and link Go's standard library and runtime and the modules listed
below. Each one's licence, notice and patent files follow, as they are in
the module.

HEAD
echo "  Go standard library and runtime $($GO env GOVERSION)"
while read -r path ver _; do echo "  $path $ver"; done <<<"$modules"
echo

section() { # NAME LABEL FILE
	printf '\n%s\n%s: %s\n%s\n\n' "$rule" "$1" "$2" "$rule"
	cat "$3"
}
for f in LICENSE PATENTS; do
	section "Go standard library and runtime $($GO env GOVERSION)" "$f" "$goroot/$f"
done
while read -r path ver dir; do
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		echo "licenses.sh: error: module $path $ver is not in the module cache (go mod download)" >&2
		exit 1
	fi
	found=$(files "$dir" | sort)
	if [ -z "$found" ]; then
		echo "licenses.sh: error: module $path $ver has no licence file in $dir" >&2
		exit 1
	fi
	while read -r f; do
		section "$path $ver" "${f#"$dir"/}" "$f"
	done <<<"$found"
done <<<"$modules"

# Scripts served by the stations' web pages, vendored into the binaries
# (station/assets/vendor/NAME: its README.md names the version).
for dir in station/assets/vendor/*/; do
	version_line=$(grep -m1 '^# ' "$dir/README.md" | sed 's/^# //')
	section "$version_line (served by the stations' pages)" LICENSE "$dir/LICENSE"
done
