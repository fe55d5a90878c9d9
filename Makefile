# The two commands a fresh machine needs: `make demo` and `make test`.
.PHONY: demo test deps build release

deps:
	@scripts/ensure-deps

build: deps
	swift build

release: deps
	swift build -c release

# The main job: trains a small model under 4 settings into a fresh ./runlog-store (the demo's
# own store, ignored by git; replaced on each run), then prints the runs table and a chart.
demo: release
	rm -rf runlog-store
	.build/release/runlog demo --store runlog-store

test: deps
	swift test
