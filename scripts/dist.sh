#!/usr/bin/env bash
# make dist: one release archive a platform, and SHA256SUMS, in DISTDIR
# (default release/). The same commit gives the same bytes (with the same
# Go release): see README.md, "Releases".
#
# Each archive, imageshare-VERSION-GOOS-GOARCH.zip (Windows) or .tar.gz,
# holds one folder of that name with
#   sender, receiver, relay   the programs (.exe on Windows)
#   dicomgen                  synthetic DICOM studies, to try a transfer
#                             between two sites with no patient data
#   README.md, docs/          the documentation
#   THIRD_PARTY_LICENSES.txt  the licences of everything linked in
#                             (scripts/licenses.sh)
#   sample-card.png           a card for an offer that does not exist
#                             (scripts/samplecard)
#   dist/systemd/ (Linux), dist/launchd/ (macOS, when the repository
#   has it)                   the service definitions
#
# VERSION is git describe --tags --always --dirty; it and the commit are
# linked into console.Version, which --version prints. Every file's time
# is the commit's (SOURCE_DATE_EPOCH, unless set).
#
# Environment: DISTDIR, PLATFORMS ("linux/amd64 windows/arm64 …"), GO.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C TZ=UTC
GO=${GO:-go}
out=${DISTDIR:-release}
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
commands=(sender receiver relay dicomgen)

version=$(git describe --tags --always --dirty)
commit=$(git rev-parse HEAD)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}

# Only what is set here decides the build: no cgo (so no C toolchain, and
# the same binary on every build machine), the baseline instruction sets,
# no flags from the environment, no paths of this machine (-trimpath), no
# build ID, and the commit from -X rather than from the work tree's state
# (-buildvcs=false: go build would record untracked files as "modified").
export CGO_ENABLED=0 GOFLAGS= GOAMD64=v1 GOARM64=v8.0 GOEXPERIMENT=
ldflags="-s -w -buildid= -X imageshare/console.version=$version -X imageshare/console.commit=$commit"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The helpers, for this machine; the files every archive holds, taken
# once, before the builds.
GOOS= GOARCH= $GO build -o "$tmp/tools/" ./scripts/mkarchive ./scripts/samplecard
mkdir "$tmp/common"
"$tmp/tools/samplecard" -o "$tmp/common/sample-card.png"
cp README.md "$tmp/common/"
cp -R docs dist "$tmp/common/"

mkdir -p "$out"
rm -f "$out"/imageshare-*.zip "$out"/imageshare-*.tar.gz "$out/SHA256SUMS"
archives=()
for platform in $platforms; do
	goos=${platform%/*} goarch=${platform#*/}
	name=imageshare-$version-$goos-$goarch
	dir=$tmp/$goos-$goarch/$name
	mkdir -p "$dir"
	pkgs=()
	for c in "${commands[@]}"; do pkgs+=("./cmd/$c"); done
	GOOS=$goos GOARCH=$goarch $GO build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$dir/" "${pkgs[@]}"
	GOOS=$goos GOARCH=$goarch scripts/licenses.sh "$version" "${pkgs[@]}" >"$dir/THIRD_PARTY_LICENSES.txt"
	cp "$tmp/common/README.md" "$tmp/common/sample-card.png" "$dir/"
	cp -R "$tmp/common/docs" "$dir/docs"
	case $goos in
	linux) service=systemd ;;
	darwin) service=launchd ;;
	*) service= ;;
	esac
	if [ -n "$service" ] && [ -d "$tmp/common/dist/$service" ]; then
		mkdir -p "$dir/dist"
		cp -R "$tmp/common/dist/$service" "$dir/dist/$service"
	fi
	ext=tar.gz
	if [ "$goos" = windows ]; then ext=zip; fi
	"$tmp/tools/mkarchive" -mtime "$SOURCE_DATE_EPOCH" -o "$out/$name.$ext" "$dir"
	archives+=("$name.$ext")

	# The binaries this machine can run say the version and commit.
	if [ "$platform" = "$($GO env GOHOSTOS)/$($GO env GOHOSTARCH)" ]; then
		for c in sender receiver relay; do
			got=$("$dir/$c" --version)
			case $got in
			"$c $version (commit ${commit:0:12}) "*) ;;
			*)
				echo "dist.sh: error: $c --version says \"$got\", not $version and commit ${commit:0:12}" >&2
				exit 1
				;;
			esac
		done
	fi
	echo "$out/$name.$ext"
done

if command -v sha256sum >/dev/null; then sum=(sha256sum); else sum=(shasum -a 256); fi
(cd "$out" && "${sum[@]}" "${archives[@]}" >SHA256SUMS)
echo "$out/SHA256SUMS"
