#!/usr/bin/env bash
# `make cluster-bench`: the relays measured (Docs/performance.md, "More viewers than one machine"). The cluster of
# the cluster test (origin, three relays, HAProxy with deploy/haproxy.cfg, each in a network namespace of its own)
# serving the 640x480 benchmark frames at 30 fps to the load client of `make bench`; Scripts/cluster_bench.py says
# what it measures. Needs root (network namespaces, tc); installs haproxy and iproute2 when missing. All traffic
# stays on this machine, and everything it starts stops when it ends (about 5 minutes).
#
#   RUN_SECONDS (15), WARM_UP (3)  seconds per run, and the first of them that count for nothing
#   PER_RELAY (50)                 viewers on each relay for the origin's CPU (3 × PER_RELAY on the origin itself)
#   UPLINK (100mbit)               each FrameStream host's uplink for the capacity runs (tc's syntax)
#   CAPACITY_COUNTS (8,16,24,32)   viewers in the capacity runs
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "make cluster-bench needs root: it makes network namespaces and caps their links with tc" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck source=Scripts/bench-tools.sh
source Scripts/bench-tools.sh
prepare_bench_tools
Scripts/install-missing.sh --no-install-recommends haproxy ip=iproute2 tc=iproute2
frames=$(frames_for 480)
python3 Scripts/cluster_bench.py --server "$BIN/ExampleServer" --load "$TOOLS/mjpeg-load" --frames "$frames" \
    --seconds "${RUN_SECONDS:-15}" --warm-up "${WARM_UP:-3}" --per-relay "${PER_RELAY:-50}" \
    --uplink "${UPLINK:-100mbit}" --capacity-counts "${CAPACITY_COUNTS:-8,16,24,32}"
