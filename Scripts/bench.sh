#!/usr/bin/env bash
# `make bench`: the example server under load from MJPEGBench, both on this machine, and a Markdown table of what
# the viewers saw and what the server used. Loopback only; every run stops by itself.
#
# BASELINE_SERVER=path/to/an/older/ExampleServer adds a comparison in the same run: COMPARE_CLIENTS viewers (500)
# of that server's /video_feed against this one's routed stream /cameras/testpattern/stream, which passes the
# router and a middleware (request logging, which logs nothing at notice level) before it reaches the fast path.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${RUN_SECONDS:-15}
WARM_UP=${WARM_UP:-3}
CLIENT_COUNTS=${CLIENT_COUNTS:-"1 10 100 500 1000"}
BIN=.build/release
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

swift build -c release --product ExampleServer >&2
swift build -c release --product MJPEGBench >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

server_bin="$BIN/ExampleServer"
stream_path=/video_feed

# Starts the server ($server_bin) with the given arguments; sets $server_pid and $server_port.
start_server() {
    "$server_bin" --port 0 --max-clients 5000 --log-level notice "$@" > "$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        server_port=$(grep -o 'at http://127.0.0.1:[0-9]*' "$work/server.log" | grep -o '[0-9]*$' || true)
        [ -n "$server_port" ] && return 0
        sleep 0.05
    done
    echo "the server did not start:" >&2
    cat "$work/server.log" >&2
    exit 1
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# One run: the server's CPU over the measured part of the run (after the warm-up) and its peak RSS, appended to
# each row MJPEGBench prints.
measure() {
    local label=$1
    shift
    "$BIN/MJPEGBench" --url "http://127.0.0.1:$server_port$stream_path" --seconds "$RUN_SECONDS" \
        --warm-up "$WARM_UP" --label "$label" "$@" > "$work/rows" &
    local bench=$!
    sleep "$WARM_UP"
    local before after
    before=$(cpu_ticks)
    wait "$bench"
    after=$(cpu_ticks)
    local cpu rss
    cpu=$(awk -v t=$((after - before)) -v s="$RUN_SECONDS" -v w="$WARM_UP" -v hz="$ticks_per_second" \
        'BEGIN { printf "%.1f %%", t / hz / (s - w) * 100 }')
    rss=$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status")
    sed "s/\$/ $cpu | $rss |/" "$work/rows"
}

echo "| run | viewers | fps mean | fps min | repeated | MB/s | latency p50 | p99 | max | first frame p50 / max | errors | bench CPU | server CPU | server peak RSS |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

pattern=(--camera testpattern --size 640x480 --fps 30 --quality 65)
for clients in $CLIENT_COUNTS; do
    start_server "${pattern[@]}"
    measure "$clients viewers" --clients "$clients"
    stop_server
done

start_server "${pattern[@]}"
measure "10 + 2 slow" --clients 10 --slow 2 --slow-rate 250000 --slow-receive-buffer 65536
stop_server

start_server --camera emulated
measure "emulated, 1 viewer" --clients 1
stop_server

# No viewer: the camera stops after the idle timeout; then the server should use (almost) no CPU.
start_server --camera emulated --idle-timeout 1
curl -s -o /dev/null "http://127.0.0.1:$server_port/snapshot.jpg"
sleep 2
before=$(cpu_ticks)
sleep 10
after=$(cpu_ticks)
echo "| idle, camera stopped | 0 | – | – | – | – | – | – | – | – | – | – |" \
    "$(awk -v t=$((after - before)) -v hz="$ticks_per_second" 'BEGIN { printf "%.2f %%", t / hz / 10 * 100 }') |" \
    "$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status") |"
stop_server

if [ -n "${BASELINE_SERVER:-}" ]; then
    compare_clients=${COMPARE_CLIENTS:-500}
    echo
    echo "Routed streams against $BASELINE_SERVER, $compare_clients viewers each, in this run:"
    echo
    echo "| run | viewers | fps mean | fps min | repeated | MB/s | latency p50 | p99 | max | first frame p50 / max | errors | bench CPU | server CPU | server peak RSS |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for round in 1 2; do
        server_bin=$BASELINE_SERVER stream_path=/video_feed
        start_server "${pattern[@]}"
        measure "baseline /video_feed ($round)" --clients "$compare_clients" | tee -a "$work/compare"
        stop_server
        server_bin="$BIN/ExampleServer" stream_path=/cameras/testpattern/stream
        start_server "${pattern[@]}"
        measure "routed /cameras/testpattern/stream ($round)" --clients "$compare_clients" | tee -a "$work/compare"
        stop_server
    done
    # Server CPU is the second-to-last column.
    awk -F'|' '/baseline/ { b += $(NF-2) + 0; nb++ } /routed/ { r += $(NF-2) + 0; nr++ }
        END { printf "\nrouted / baseline server CPU: %.2f (mean of %d runs each)\n", (r / nr) / (b / nb), nr }' "$work/compare"
fi
