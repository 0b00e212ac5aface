#!/usr/bin/env bash
# `make cluster-test`: one origin, three relays (`ExampleServer relay`) and HAProxy with deploy/haproxy.cfg, each
# in a network namespace of its own (as root; else each on a loopback address of its own), and viewers that
# connect through the balancer; Scripts/cluster_test.py says what it checks. Installs haproxy and iproute2 when
# missing. All traffic stays on this machine, and everything it starts stops when it ends (about a minute).
# KEEP_LOGS=DIR keeps the servers' logs there.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
PYTHON=${PYTHON:-python3}
Scripts/install-missing.sh --no-install-recommends haproxy ip=iproute2
haproxy -c -q -f deploy/haproxy.cfg

$SWIFT build --product ExampleServer
BIN="$($SWIFT build --show-bin-path)"
exec "$PYTHON" Scripts/cluster_test.py "$BIN/ExampleServer" ${KEEP_LOGS:+--keep-logs "$KEEP_LOGS"}
