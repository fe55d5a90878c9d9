# The two commands a fresh machine needs: `make demo` and `make test`.
# The reliability work (RELIABILITY.md) has its own: campaign, campaign-quick, tsan, asan, fuzz, coverage.
.PHONY: demo test deps build release campaign campaign-quick tsan asan fuzz coverage reliability differential browser screenshots server

deps:
	@scripts/ensure-deps

build: deps
	swift build

release: deps
	swift build -c release

# The main job: trains a small model under 4 settings into a fresh ./runlog-store (the demo's
# own store, ignored by git; replaced on each run), then prints the runs table and a chart. A debug
# build without the server (RUNLOG_WITHOUT_SERVER, see Package.swift) is the quickest first build;
# the demo still runs in seconds, and `make test` reuses what it compiled. `swift build` (or make
# test) builds the whole CLI, with `server`, `ui`, `run` and `rerun`.
demo: deps
	RUNLOG_WITHOUT_SERVER=1 swift build --product runlog
	rm -rf runlog-store
	.build/debug/runlog demo --store runlog-store

test: deps
	swift test

# The full reliability campaign (crash loops, power loss, corruption, hostile environments),
# whose figures RELIABILITY.md reports. SEED=n replays one.
SEED ?= 1
campaign: release
	.build/release/runlog-campaign --seed $(SEED)

# The short version CI runs, on the debug build `make test` leaves.
campaign-quick: build
	.build/debug/runlog-campaign --quick --seed $(SEED)

# The concurrency tests under ThreadSanitizer, the codec and recovery tests under AddressSanitizer.
TSAN_TESTS = ConcurrencyTests|CompactionTests|LiveCompactionTests|FaultInjectionTests|StoreCreationTests|RunTests|ExperimentTests|CampaignTests
ASAN_TESTS = LiveCompactionTests|CRC32CTests|ZigZagTests|RunRecordTests|IntegerColumnTests|BlockCodecTests|RecoveryTests|WindowedScanTests|FixtureTests|IndexSnapshotTests|FilterGrammarTests|DownsampleTests|FuzzCorpusTests
# Neither tests the server: RUNLOG_WITHOUT_SERVER leaves it (and Hummingbird) out of their builds.
tsan: deps
	RUNLOG_WITHOUT_SERVER=1 swift test --sanitize=thread --scratch-path .build-tsan --filter "$(TSAN_TESTS)"

asan: deps
	RUNLOG_WITHOUT_SERVER=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp swift test --sanitize=address --scratch-path .build-asan --filter "$(ASAN_TESTS)"

# libFuzzer on each target for FUZZ_SECONDS, growing a corpus under .build-fuzz/corpus (the
# checked-in seeds are in Fixtures/fuzz); crashes are written to .build-fuzz/crash-*.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = records segment payload snapshot filter
fuzz: deps
	swift build --product runlog-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -DFUZZING --scratch-path .build-fuzz
	@for target in $(FUZZ_TARGETS); do \
		mkdir -p .build-fuzz/corpus/$$target; \
		echo "fuzzing $$target for $(FUZZ_SECONDS) s"; \
		RUNLOG_FUZZ_TARGET=$$target .build-fuzz/debug/runlog-fuzz .build-fuzz/corpus/$$target Fixtures/fuzz/$$target \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=.build-fuzz/crash-$$target- \
			2>&1 | grep -E "^(Done|stat::average_exec_per_sec|==[0-9]+==ERROR|SUMMARY)" || exit 1; \
		ls .build-fuzz/crash-$$target-* >/dev/null 2>&1 && { echo "fuzz: $$target crashed"; exit 1; } || true; \
	done

# Line coverage of the engine module (RELIABILITY.md reports it).
coverage: deps
	swift test --enable-code-coverage --scratch-path .build-coverage
	scripts/coverage-report .build-coverage

# Everything RELIABILITY.md reports, in one command: the full campaign, both sanitizer passes,
# FUZZ_SECONDS of fuzzing per target and the coverage table.
reliability: campaign tsan asan fuzz coverage

# The MLflow differential test: the stock mlflow client (the version pinned in
# Tests/differential/requirements.txt, installed into .build-venv) against `runlog server` and a
# real `mlflow server` (SQLite) on loopback; every read-back and error code must agree.
VENV = .build-venv
$(VENV)/.installed: Tests/differential/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r Tests/differential/requirements.txt
	touch $@

differential: build $(VENV)/.installed
	$(VENV)/bin/python Tests/differential/differential.py --runlog .build/debug/runlog --python $(VENV)/bin/python
	$(VENV)/bin/python Tests/differential/reproduce.py --runlog .build/debug/runlog --python $(VENV)/bin/python

# The web UI in headless Chromium (Debian's chromium and chromium-driver, installed by
# scripts/ensure-browser), driven by Selenium (pinned in Tests/browser/requirements.txt):
# every screen, filter, sort, compare, zoom, hover, live refresh, markup in names. Screenshots
# of each screen go to .build/screenshots; `make screenshots` writes the README's, smaller.
$(VENV)/.browser: Tests/browser/requirements.txt
	test -x $(VENV)/bin/pip || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r Tests/browser/requirements.txt
	touch $@

browser: build $(VENV)/.browser
	scripts/ensure-browser
	$(VENV)/bin/python Tests/browser/browser.py --runlog .build/debug/runlog --screenshots .build/screenshots

screenshots: build $(VENV)/.browser
	scripts/ensure-browser
	$(VENV)/bin/python Tests/browser/browser.py --runlog .build/debug/runlog --screenshots docs/screenshots --small

# `runlog server` on ./runlog-store at http://127.0.0.1:5000 (release build).
server: deps
	swift build -c release --product runlog
	.build/release/runlog server --store runlog-store
