# imageshare — see README.md.
GO ?= go
# staticcheck, at the version .ci/run installs.
STATICCHECK ?= staticcheck

.PHONY: all build test demo demo-station vet clean cross dist dist-check

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# The tests: unit tests of every package, and end-to-end scripts that run
# the built commands over libp2p on this machine (e2e/testdata/*.txtar).
# They read ../shared/dicom when it is there; CI requires it. staticcheck
# runs after vet (.ci/run installs the pinned version).
test: vet
	$(STATICCHECK) ./...
	$(GO) test -race -timeout 40m ./...

vet:
	$(GO) vet ./...

# The main job on this machine: a sample study from a sender, through the
# card image, to a receiver, verified.
demo: build
	./scripts/demo.sh

# Both stations' web pages on this machine (loopback), with the sample
# study ready to send; it prints the two addresses. Ctrl-C stops both.
demo-station: build
	./scripts/demo-station.sh

clean:
	rm -rf bin release

# Every package for the six platforms imageshare ships for (Linux, macOS
# and Windows on amd64 and arm64), and go vet, test files included, for
# each of the three systems: Windows and macOS are built and vetted, not
# run (README.md, "What is tested where").
cross:
	./scripts/cross.sh

# The release archives (README.md, "Releases"): release/imageshare-
# VERSION-OS-ARCH.zip or .tar.gz and release/SHA256SUMS, the same bytes
# for the same commit. dist-check makes them twice, here and in a clone,
# and compares.
dist:
	./scripts/dist.sh

dist-check:
	./scripts/dist-check.sh

# The benchmark (issue 4): a large study of real CT, sender to receiver,
# on loopback and, as root, over an emulated WAN, against raw baselines;
# a table and bench-results.json. Not a test: targets are reported, not
# enforced. go run ./cmd/bench --help says more; for example
# make bench BENCHFLAGS='-size 300MB -skip-wan'.
.PHONY: bench
bench: build
	$(GO) run ./cmd/bench $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench CameraReadsCard -benchtime 10x ./station/receiving
