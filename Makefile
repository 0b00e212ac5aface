# FrameStream: `make run` serves the emulated camera, `make test` runs every test.
# Both install the Debian packages the build needs when pkg-config does not find them.

SWIFT ?= swift
SYSTEM_PACKAGES := pkg-config libv4l-dev libturbojpeg0-dev
ARGS ?=

.PHONY: run test tsan bench microbench build deps format lint clean

run: deps
	$(SWIFT) run -c release ExampleServer $(ARGS)

# The V4L2 tests start ExampleServer with the stand-in device (libV4L2StandIn.so) preloaded: build both first.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) build --product ExampleServer
	$(SWIFT) build --product V4L2StandIn
	$(SWIFT) test --skip-build

# The broadcaster's tests and its stress test under ThreadSanitizer: a full build of its own in .build-tsan.
# Note: on Linux, TSan does not see Synchronization.Mutex (futex calls inside the uninstrumented runtime), so it
# reports "Swift access race" on state only ever touched inside withLock; look for reports outside such closures.
TSAN_TESTS := FrameBroadcasterTests|FrameBroadcasterRestartTests|FrameBroadcasterStressTests
tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter '$(TSAN_TESTS)'

build: deps
	$(SWIFT) build

# Installs the system libraries (V4L2 capture, TurboJPEG encoding) with apt-get, with sudo when not root.
deps:
	@if ! pkg-config --exists libv4l2 libturbojpeg 2>/dev/null; then \
		echo "Installing system packages: $(SYSTEM_PACKAGES)"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	fi

# The server under load from MJPEGBench (both release builds), a Markdown table; see Docs/performance.md.
bench: deps
	Scripts/bench.sh

# Micro-benchmarks of the core (ordo-one/benchmark, built only here); numbers in Docs/benchmarks.md.
microbench: deps
	FRAMESTREAM_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-bench benchmark

format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Benchmarks Package.swift

lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Benchmarks Package.swift

clean:
	rm -rf .build .build-tsan
