# The two commands a fresh machine needs: `make demo` and `make test`.
.PHONY: demo test deps build release

deps:
	@scripts/ensure-deps

build: deps
	swift build

release: deps
	swift build -c release

# Logs a synthetic training run into a fresh store (./runlog-store), scans it back and verifies it.
demo: release
	.build/release/runlog demo --store runlog-store

test: deps
	swift test
