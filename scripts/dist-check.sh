#!/usr/bin/env bash
# make dist-check: make dist twice, here and in a fresh clone of HEAD in
# another folder, and compare the two SHA256SUMS: the same commit must give
# the same bytes, wherever it is built. It needs a clean work tree (the
# clone has only what is committed). DISTDIR (default release/) gets the
# first run's archives.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
out=${DISTDIR:-release}

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	echo "dist-check.sh: error: the work tree has changes: commit them first (the clone has only HEAD)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scripts/dist.sh
git clone --quiet . "$tmp/src"
DISTDIR="$tmp/out" "$tmp/src/scripts/dist.sh" >/dev/null
if ! cmp -s "$out/SHA256SUMS" "$tmp/out/SHA256SUMS"; then
	echo "dist-check.sh: error: two builds of $(git rev-parse --short HEAD) differ:" >&2
	diff "$out/SHA256SUMS" "$tmp/out/SHA256SUMS" >&2 || true
	exit 1
fi
# Each archive is whole and holds what the README says it does.
(cd "$out" && sha256sum -c --quiet SHA256SUMS)
while read -r _ archive; do
	name=${archive%.zip}
	name=${name%.tar.gz}
	exe=
	case $archive in
	*.zip)
		unzip -tq "$out/$archive" >/dev/null
		list=$(unzip -Z1 "$out/$archive")
		exe=.exe
		;;
	*) list=$(tar -tzf "$out/$archive") ;;
	esac
	want=(sender$exe receiver$exe relay$exe dicomgen$exe README.md THIRD_PARTY_LICENSES.txt sample-card.png docs/PROTOCOL.md)
	case $archive in
	*-linux-*) want+=(dist/systemd/imageshare-sender.service) ;;
	esac
	for f in "${want[@]}"; do
		if ! grep -qxF "$name/$f" <<<"$list"; then
			echo "dist-check.sh: error: $archive has no $name/$f" >&2
			exit 1
		fi
	done
done <"$out/SHA256SUMS"

echo "dist-check: two builds of $(git rev-parse --short HEAD) (here and in a clone in $tmp/src) are the same bytes:"
cat "$out/SHA256SUMS"
