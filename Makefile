# FrameStream: `make run` serves the emulated camera, `make test` runs every test.
# Both install the Debian packages the build needs when pkg-config does not find them.

SWIFT ?= swift
SYSTEM_PACKAGES := pkg-config libv4l-dev libturbojpeg0-dev
ARGS ?=

.PHONY: run test bench build deps format lint clean

run: deps
	$(SWIFT) run ExampleServer $(ARGS)

test: deps
	$(SWIFT) test

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

format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Package.swift

clean:
	rm -rf .build
