# imageshare — see README.md.
GO ?= go
# staticcheck, at the version .ci/run installs.
STATICCHECK ?= staticcheck

.PHONY: all build test demo vet clean

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

clean:
	rm -rf bin

# The benchmark (issue 4): a large study of real CT, sender to receiver,
# on loopback and, as root, over an emulated WAN, against raw baselines;
# a table and bench-results.json. Not a test: targets are reported, not
# enforced. go run ./cmd/bench --help says more; for example
# make bench BENCHFLAGS='-size 300MB -skip-wan'.
.PHONY: bench
bench: build
	$(GO) run ./cmd/bench $(BENCHFLAGS)
