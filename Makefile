# FrameStream: `make run` serves the emulated camera, `make test` runs every test.
# Both install the Debian packages the build needs when pkg-config does not find them.

SWIFT ?= swift
PYTHON ?= python3
SYSTEM_PACKAGES := pkg-config libv4l-dev libturbojpeg0-dev libsqlite3-dev
ARGS ?=

PREFIX ?= /usr/local
DESTDIR ?=
# Where `make install-files` takes the binary from: the release build by default.
BIN_DIR ?= .build/release

.PHONY: run test test-tools stand-in check-portable tsan bench microbench browser-check player-check reconnect-check cluster-test cluster-bench build deps docs format lint clean install install-files

run: deps
	$(SWIFT) run -c release ExampleServer $(ARGS)

# The V4L2 tests start ExampleServer with the stand-in device (libV4L2StandIn.so, test support that is not part of
# the package) preloaded: build both next to the tests first.
# The export tests read the Matroska files with ffprobe (ffmpeg, installed when missing), and must not skip that.
test: deps test-tools
	$(SWIFT) build --build-tests
	$(SWIFT) build --product ExampleServer
	$(MAKE) stand-in STAND_IN_DIR="$$($(SWIFT) build --show-bin-path)"
	FRAMESTREAM_REQUIRE_FFPROBE=1 $(SWIFT) test --skip-build
	@# Debian's python3 if the package went there and $(PYTHON) is another one.
	if $(PYTHON) -c "import prometheus_client" 2>/dev/null; then PY=$(PYTHON); else PY=/usr/bin/python3; fi; \
		$$PY Scripts/check-metrics.py "$$($(SWIFT) build --show-bin-path)/ExampleServer"

test-tools:
	@if ! command -v ffprobe >/dev/null; then \
		echo "Installing ffmpeg (ffprobe reads the exported videos in the tests)"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg; \
	fi
	@if ! $(PYTHON) -c "import prometheus_client" 2>/dev/null; then \
		echo "Installing prometheus_client (its parser reads /metrics in the tests)"; \
		$(PYTHON) -m pip install -q prometheus_client 2>/dev/null || { \
			if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
			$$SUDO apt-get update -qq && \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-prometheus-client; }; \
	fi

STAND_IN_DIR ?= .build/debug
CC ?= cc
stand-in:
	$(CC) -std=gnu11 -Wall -Wextra -O2 -fPIC -shared -D_GNU_SOURCE -ITests/Support/V4L2StandIn/include \
		-o "$(STAND_IN_DIR)/libV4L2StandIn.so" Tests/Support/V4L2StandIn/v4l2_stand_in.c -ldl -lpthread

# The libraries build without the V4L2 driver (as on systems that have no V4L2), in a build folder of their own.
check-portable:
	FRAMESTREAM_NO_V4L2=1 $(SWIFT) build --target FrameStream --scratch-path .build-no-v4l2

# The broadcaster's tests and its stress test under ThreadSanitizer: a full build of its own in .build-tsan.
# Note: on Linux, TSan does not see Synchronization.Mutex (futex calls inside the uninstrumented runtime), so it
# reports races on state only ever touched inside withLock, and exits non-zero: read the reports for any frame
# outside such a closure. (Four threads incrementing a Mutex<Int> 10,000 times each get a "Swift access race"
# report with the count exactly 40,000; building with -O does not silence the reports here either.)
TSAN_TESTS := FrameBroadcasterTests|FrameBroadcasterRestartTests|FrameBroadcasterStressTests
tsan: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter '$(TSAN_TESTS)'

build: deps
	$(SWIFT) build

# The server, self-contained (its images are compiled in), and a hardened systemd unit that is not enabled:
# PREFIX/bin/ExampleServer, PREFIX/share/framestream/{framestream.service,framestream.socket,cameras.example.yaml}.
# The Swift runtime is linked in statically, in a build folder of its own (so that `make run` does not rebuild).
install: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-install --product ExampleServer
	$(MAKE) install-files BIN_DIR="$$($(SWIFT) build -c release --scratch-path .build-install --show-bin-path)"

install-files:
	install -D -m 755 "$(BIN_DIR)/ExampleServer" "$(DESTDIR)$(PREFIX)/bin/ExampleServer"
	install -d "$(DESTDIR)$(PREFIX)/share/framestream"
	sed 's|@PREFIX@|$(PREFIX)|g' deploy/framestream.service > "$(DESTDIR)$(PREFIX)/share/framestream/framestream.service"
	install -m 644 deploy/framestream.socket "$(DESTDIR)$(PREFIX)/share/framestream/framestream.socket"
	install -m 644 Docs/cameras.example.yaml "$(DESTDIR)$(PREFIX)/share/framestream/cameras.example.yaml"

# Installs the system libraries (V4L2 capture, TurboJPEG encoding, SQLite for the recordings' catalog) with apt-get, with sudo when not root.
deps:
	@if ! pkg-config --exists libv4l2 libturbojpeg sqlite3 2>/dev/null; then \
		echo "Installing system packages: $(SYSTEM_PACKAGES)"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	fi

# ExampleServer (release) and the C floor under the C load client (Benchmarks/), a Markdown table with ratios to
# the floor; see Docs/performance.md.
bench: deps
	Scripts/bench.sh

# Ten cameras on one page in headless Chromium: over HTTPS with HTTP/2 all ten must play; over HTTP/1.1 (reported
# only) six do. Installs chromium and openssl with apt-get when missing. Not part of `make test`.
browser-check: deps
	Scripts/browser-check.sh

# A recording test-pattern camera's player page in headless Chromium: reads the clock drawn into the picture to
# prove that play, pause, −10 s and live work. Installs chromium with apt-get when missing. Not part of `make test`.
player-check: deps
	Scripts/player-check.sh

# A camera page in headless Chromium while the server is killed (SIGKILL) and started again on the
# same port: the picture must come back by itself (CameraPage.reconnectScript), Scripts/reconnect-check.py.
# Installs chromium and websocket-client when missing. Not part of `make test`.
reconnect-check: deps
	Scripts/install-missing.sh chromium
	$(PYTHON) -c "import websocket" 2>/dev/null || $(PYTHON) -m pip install -q websocket-client
	$(SWIFT) build --product ExampleServer
	$(PYTHON) Scripts/reconnect-check.py "$$($(SWIFT) build --show-bin-path)/ExampleServer"

# One origin, three relays and HAProxy (deploy/haproxy.cfg), each in a network namespace of its own (loopback
# addresses without root), with viewers through the balancer; Scripts/cluster_test.py lists the checks. About a
# minute; installs haproxy and iproute2 when missing. Not part of `make test`; .ci/run runs it.
cluster-test: deps
	Scripts/cluster-test.sh

# The relays measured: the cluster of cluster-test serving the benchmark frames to the load client of `make bench`
# (latency per hop, the origin's CPU, viewers served with capped uplinks); see Docs/performance.md. Root only
# (network namespaces, tc); about 5 minutes.
cluster-bench: deps
	Scripts/cluster-bench.sh

# Micro-benchmarks of the core (ordo-one/benchmark, built only here); numbers in Docs/benchmarks.md.
microbench: deps
	FRAMESTREAM_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-bench benchmark

# The DocC documentation of FrameStream, FrameStreamHTTP and FrameStreamRecording (Sources/*/Docs.docc), in a build
# folder of its own; any DocC warning fails it. Not part of `make test`. Each .build-docs/plugins/Swift-DocC/outputs/<Target>.doccarchive
# is a static site: serve the folder and open /documentation/<target, lowercased>/.
docs: deps
	$(SWIFT) package --scratch-path .build-docs generate-documentation --target FrameStream --target FrameStreamHTTP \
		--target FrameStreamRecording \
		--warnings-as-errors --disable-indexing

format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Benchmarks Package.swift

lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Benchmarks Package.swift

clean:
	rm -rf .build .build-tsan
