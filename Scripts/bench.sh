#!/usr/bin/env bash
# `make bench`: FrameStream's ExampleServer and the floor — fanout-floor (Benchmarks/Floor), a minimal C server
# that frames each part once and sends the same buffer to every viewer, so that its cost is about the kernel's
# cost of moving the bytes — serve the same JPEG files at 30 fps to the same load client (mjpeg-load,
# Benchmarks/LoadClient), one after the other on this machine. It prints a Markdown table of what the viewers saw
# and what each server used, with FrameStream's CPU and p99 latency as ratios to the floor's in the same run.
# Loopback only; every run stops by itself.
#
#   CASES             what to run, as SIZE:VIEWERS[:SLOW] (default below); SIZE is 480 (640x480, about 46 KB a
#                     frame) or 720 (1280x720, about 160 KB)
#   RUN_SECONDS       seconds per run (15), of which WARM_UP (3) count for nothing
#   BASELINE_SERVER   an older ExampleServer binary: adds its runs of BASELINE_CASES (480:500) to the table
#   MALLOC_VIEWERS    viewers (500) for the count of the server's mallocs per viewer per frame, made at the end
#                     when perf can probe libc's malloc (root, uprobes); 0 skips it
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${RUN_SECONDS:-15}
WARM_UP=${WARM_UP:-3}
CASES=${CASES:-"480:1 480:100 480:500 480:1000 480:2000 480:3000 480:10:2 720:100 720:300"}
BASELINE_CASES=${BASELINE_CASES:-"480:500"}
BIN=.build/release
TOOLS=.build/bench
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in python3 curl "${CC:-cc}"; do
    command -v "$tool" > /dev/null || { echo "make bench needs $tool (apt-get install ${tool/cc/gcc})" >&2 && exit 2; }
done
swift build -c release --product ExampleServer >&2
mkdir -p "$TOOLS"
"${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$TOOLS/fanout-floor" Benchmarks/Floor/fanout-floor.c
"${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$TOOLS/mjpeg-load" Benchmarks/LoadClient/mjpeg-load.c -lm
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ticks_per_second=$(getconf CLK_TCK)

# Starts a server (the command line given) whose log says where it listens; sets $server_pid and $server_port.
start_server() {
    "$@" > "$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        server_port=$(grep -o 'at http://127.0.0.1:[0-9]*' "$work/server.log" | grep -o '[0-9]*$' || true)
        [ -n "$server_port" ] && return 0
        sleep 0.05
    done
    echo "the server did not start: $*" >&2
    cat "$work/server.log" >&2
    exit 1
}

# Starts an ExampleServer binary ($1) looping the frames in folder $2 at 30 fps, as the camera 'emulated'.
start_framestream() {
    start_server "$1" --port 0 --max-clients 5000 --log-level notice --camera emulated --frames-dir "$2" --fps 30
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
peak_rss() { awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }

# The frames of one size: 30 distinct test-pattern frames, made once by ExampleServer and saved as files.
frames_for() {
    local size quality folder
    case $1 in
    480) size=640x480 quality=75 ;;
    720) size=1280x720 quality=85 ;;
    *) echo "unknown frame size '$1' in CASES (480 or 720)" >&2 && exit 2 ;;
    esac
    folder=$TOOLS/frames-$size-q$quality
    if [ "$(find "$folder" -name '*.jpg' 2>/dev/null | wc -l)" -lt 30 ]; then
        rm -rf "$folder"
        start_server "$BIN/ExampleServer" --port 0 --log-level notice --camera testpattern --size "$size" --fps 30 \
            --quality "$quality"
        python3 Scripts/capture-frames.py "http://127.0.0.1:$server_port/video_feed" "$folder" 30
        stop_server
    fi
    echo "$folder"
}

# One run of the load client against the running server at $1 (a path); prints the client's rows, each with the
# server's CPU over the measured part of the run (after the warm-up) and its peak RSS appended.
measure() {
    local path=$1 label=$2 viewers=$3 slow=$4
    "$TOOLS/mjpeg-load" --url "http://127.0.0.1:$server_port$path" --clients "$viewers" --slow "$slow" \
        --slow-rate 250000 --slow-receive-buffer 65536 --seconds "$RUN_SECONDS" --warm-up "$WARM_UP" \
        --label "$label" > "$work/rows" &
    local bench=$!
    sleep "$WARM_UP"
    local before after
    before=$(cpu_ticks)
    wait "$bench"
    after=$(cpu_ticks)
    local cpu
    cpu=$(awk -v t=$((after - before)) -v s="$RUN_SECONDS" -v w="$WARM_UP" -v hz="$ticks_per_second" \
        'BEGIN { printf "%.1f %%", t / hz / (s - w) * 100 }')
    sed "s/\$/ $cpu | $(peak_rss) |/" "$work/rows"
}

# Appends the ratio columns to the rows of a run ($1), against the floor's rows of the same case ($2, row by row;
# no file: no ratios): server CPU ÷ the floor's, p99 latency ÷ the floor's, and the slowest viewer's rate ÷ the mean.
with_ratios() {
    awk -F'|' -v OFS='|' -v floor="${2:-}" 'BEGIN {
            while (floor != "" && (getline row < floor) > 0) { split(row, f, "|"); cpu[++n] = f[14] + 0; p99[n] = f[9] + 0 }
        }
        {
            ratio = (cpu[FNR] > 0) ? sprintf(" %.2f ", ($14 + 0) / cpu[FNR]) : " – "
            latency = (p99[FNR] > 0) ? sprintf(" %.2f ", ($9 + 0) / p99[FNR]) : " – "
            fair = ($4 + 0 > 0 && floor != "") ? sprintf(" %.2f ", ($5 + 0) / ($4 + 0)) : " – "
            line = $0
            sub(/ [^|]* \| [^|]* \|$/, "", line)
            printf "%s%s|%s|%s|%s|%s|\n", line, $14, ratio, latency, fair, $15
        }' "$1"
}

echo "| run | viewers | fps mean | fps min | repeated | MB/s | latency p50 | p99 | max | first frame p50 / max | errors | bench CPU | server CPU | CPU ÷ floor | p99 ÷ floor | fps min ÷ mean | server peak RSS |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

# A case: the floor, then FrameStream (a mounted camera behind ExampleServer's request-log middleware, the routed
# stream path), then the baseline if asked for, on the same frames and load.
run_case() {
    local spec=$1 servers=$2
    local size viewers slow
    IFS=: read -r size viewers slow <<< "$spec"
    slow=${slow:-0}
    local frames name
    frames=$(frames_for "$size")
    name="${size}p, $viewers viewers"
    [ "$slow" -gt 0 ] && name="${size}p, $viewers + $slow slow"

    start_server "$TOOLS/fanout-floor" --port 0 --frames "$frames" --fps 30
    measure /video_feed "floor, $name" "$viewers" "$slow" > "$work/floor"
    stop_server
    with_ratios "$work/floor" "$work/floor"
    for server in $servers; do
        local label="FrameStream"
        [ "$server" != "$BIN/ExampleServer" ] && label="baseline"
        start_framestream "$server" "$frames"
        measure /cameras/emulated/stream "$label, $name" "$viewers" "$slow" > "$work/run"
        stop_server
        with_ratios "$work/run" "$work/floor"
    done
}

for spec in $CASES; do run_case "$spec" "$BIN/ExampleServer"; done
if [ -n "${BASELINE_SERVER:-}" ]; then
    for spec in $BASELINE_CASES; do run_case "$spec" "$BASELINE_SERVER"; done
fi

# The article's emulated camera (three images at 1 frame a second), and then no viewer: the camera stops after
# the idle timeout, and the server should use (almost) no CPU.
start_server "$BIN/ExampleServer" --port 0 --log-level notice --camera emulated
measure /video_feed "FrameStream, emulated camera, 1 viewer" 1 0 > "$work/run"
with_ratios "$work/run"
stop_server
start_server "$BIN/ExampleServer" --port 0 --log-level notice --camera emulated --idle-timeout 1
curl -s -o /dev/null "http://127.0.0.1:$server_port/snapshot.jpg"
sleep 2
before=$(cpu_ticks)
sleep 10
after=$(cpu_ticks)
echo "| FrameStream, idle, camera stopped | 0 | – | – | – | – | – | – | – | – | – | – |" \
    "$(awk -v t=$((after - before)) -v hz="$ticks_per_second" 'BEGIN { printf "%.2f %%", t / hz / 10 * 100 }') |" \
    "– | – | – | $(peak_rss) |"
stop_server

# Allocations on the delivery path: the server's mallocs over 5 s at MALLOC_VIEWERS viewers, per viewer per frame
# (perf's uprobe on libc's malloc; counted, not timed).
malloc_viewers=${MALLOC_VIEWERS:-500}
libc=$(ldd "$BIN/ExampleServer" | awk '/libc.so.6/ { print $3 }')
if [ "$malloc_viewers" -gt 0 ] && command -v perf > /dev/null &&
    { perf probe -q -x "$libc" malloc 2> /dev/null || perf list 2> /dev/null | grep probe_libc:malloc > /dev/null; }; then
    frames=$(frames_for 480)
    echo
    for server in "$BIN/ExampleServer" ${BASELINE_SERVER:-}; do
        start_framestream "$server" "$frames"
        "$TOOLS/mjpeg-load" --url "http://127.0.0.1:$server_port/cameras/emulated/stream" --clients "$malloc_viewers" \
            --seconds 12 --warm-up 3 > /dev/null &
        load=$!
        sleep 5
        perf stat -x, -e probe_libc:malloc -p "$server_pid" -o "$work/mallocs" -- sleep 5 > /dev/null 2>&1 || true
        wait "$load"
        stop_server
        awk -F, -v v="$malloc_viewers" -v s="$server" '/probe_libc:malloc/ {
            printf "%s: %.0f mallocs a second at %d viewers, %.2f per viewer per frame\n", s, $1 / 5, v, $1 / 5 / 30 / v }' \
            "$work/mallocs"
    done
fi
