#!/usr/bin/env bash
# make cross: every package for every platform imageshare ships for, and
# go vet, test files included, for each operating system, so that a call
# that exists on Linux only cannot land unnoticed. Windows and macOS are
# built and vetted here, not run (README.md, "What is tested where").
#
# The builds use make dist's settings (no cgo, -trimpath), so that their
# compiled packages are in the build cache when make dist links.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}

for platform in $platforms; do
	echo "build $platform"
	CGO_ENABLED=0 GOFLAGS= GOOS=${platform%/*} GOARCH=${platform#*/} $GO build -trimpath ./...
done
# go vet type-checks every test file too: the Windows and macOS test
# packages compile.
for goos in linux windows darwin; do
	echo "vet $goos"
	CGO_ENABLED=0 GOFLAGS= GOOS=$goos GOARCH=amd64 $GO vet -trimpath ./...
done
