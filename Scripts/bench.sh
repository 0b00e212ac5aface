#!/usr/bin/env bash
# `make bench`: FrameStream's ExampleServer and the floor — fanout-floor (Benchmarks/Floor), a minimal C server
# that frames each part once and sends the same buffer to every viewer, so that its cost is about the kernel's
# cost of moving the bytes — serve the same JPEG files at 30 fps to the same load client (mjpeg-load,
# Benchmarks/LoadClient), one after the other on this machine. It prints a Markdown table of what the viewers saw
# and what each server used, with FrameStream's CPU and p99 latency as ratios to the floor's in the same run.
# Loopback only; every run stops by itself.
#
# TLS cases run ExampleServer with --tls-cert/--tls-key (HTTPS only on its port, h2 and http/1.1 by ALPN) and a
# throwaway self-signed certificate made once in .build/bench. The floor has no TLS, so these cases have no floor
# run: their ratio columns are to FrameStream's plain HTTP/1.1 row of the same SIZE:VIEWERS in the same run (a
# footnote under the table says so; "–" when that case did not run before them). The load client needs OpenSSL
# and libnghttp2: when pkg-config does not find them, the script installs libssl-dev libnghttp2-dev openssl (and
# pkg-config) with apt-get, through sudo when not root, as the Makefile's deps target does.
#
#   CASES             what to run, as SIZE:VIEWERS[:SLOW][:tls|:h2xM] (default below); SIZE is 480 (640x480,
#                     about 46 KB a frame) or 720 (1280x720, about 160 KB); tls: the viewers over TLS (HTTP/1.1);
#                     h2xM: the viewers as HTTP/2 streams over TLS, M to a connection (480:500:h2x10: 50
#                     connections); slow viewers are HTTP/1.1 only
#   RUN_SECONDS       seconds per run (15), of which WARM_UP (3) count for nothing
#   BASELINE_SERVER   an older ExampleServer binary: adds its runs of BASELINE_CASES (480:500) to the table
#   MALLOC_VIEWERS    viewers (500) for the count of the server's mallocs per viewer per frame, made at the end
#                     when perf can probe libc's malloc (root, uprobes); 0 skips it
#   RECORDING         1 (default): the recording table (the camera recorded or not; 50 playback viewers at once
#                     beside 500 live ones); 0 skips it
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${RUN_SECONDS:-15}
WARM_UP=${WARM_UP:-3}
CASES=${CASES:-"480:1 480:100 480:500 480:500:tls 480:500:h2x10 480:1000 480:2000 480:3000 480:10:2 720:100 720:300"}
BASELINE_CASES=${BASELINE_CASES:-"480:500"}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck source=Scripts/bench-tools.sh
source Scripts/bench-tools.sh
prepare_bench_tools

ticks_per_second=$(getconf CLK_TCK)

# The throwaway certificate for the TLS cases (self-signed, for 127.0.0.1), made once; remade when older than 20
# days, as it is valid for 30.
tls_cert=$TOOLS/tls-cert.pem
tls_key=$TOOLS/tls-key.pem
make_certificate() {
    if [ ! -s "$tls_cert" ] || [ ! -s "$tls_key" ] || [ -n "$(find "$tls_cert" -mtime +20)" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1 -keyout "$tls_key" -out "$tls_cert" 2> "$work/openssl.log" ||
            { cat "$work/openssl.log" >&2 && exit 1; }
    fi
}

# Starts an ExampleServer binary ($1) looping the frames in folder $2 at 30 fps, as the camera 'emulated'; more
# options for it may follow (the TLS ones).
start_framestream() {
    start_server "$1" --port 0 --max-clients 5000 --log-level notice --camera emulated --frames-dir "$2" --fps 30 \
        "${@:3}"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
peak_rss() { awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$server_pid/status"; }

# One run of the load client against the running server at $1 (a path); prints the client's rows, each with the
# server's CPU over the measured part of the run (after the warm-up) and its peak RSS appended. $5, if given, is
# the transport: tls, or h2xM (HTTP/2 streams, M to a connection). The client exits 1 when some viewers failed
# (its row counts them): the table goes on; any other failure (2: start-up) stops it.
measure() {
    local path=$1 label=$2 viewers=$3 slow=$4 transport=${5:-}
    local scheme=http transport_options=()
    case $transport in
    '') ;;
    tls) scheme=https transport_options=(--tls) ;;
    h2x*) scheme=https transport_options=(--http2 --streams-per-connection "${transport#h2x}") ;;
    esac
    "$TOOLS/mjpeg-load" --url "$scheme://127.0.0.1:$server_port$path" --clients "$viewers" --slow "$slow" \
        --slow-rate 250000 --slow-receive-buffer 65536 --seconds "$RUN_SECONDS" --warm-up "$WARM_UP" \
        --label "$label" "${transport_options[@]}" > "$work/rows" &
    local bench=$!
    sleep "$WARM_UP"
    local before after status=0
    before=$(cpu_ticks)
    wait "$bench" || status=$?
    [ "$status" -le 1 ] || exit "$status"
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

echo "| run | viewers | fps mean | fps min | repeated | MB/s | latency p50 | p99 | max | first frame p50 / max | errors | bench CPU | server CPU | CPU ÷ floor¹ | p99 ÷ floor¹ | fps min ÷ mean | server peak RSS |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

# A case: the floor, then FrameStream (a mounted camera behind ExampleServer's request-log middleware, the routed
# stream path), then the baseline if asked for, on the same frames and load. A TLS case (tls, h2xM) has no floor
# run: its ratios are to FrameStream's plain row of the same SIZE:VIEWERS, kept from its case in this run.
run_case() {
    local spec=$1 servers=$2
    local size viewers rest field slow=0 transport=""
    IFS=: read -r size viewers rest <<< "$spec"
    for field in ${rest//:/ }; do
        case $field in
        tls | h2x[1-9]*) transport=$field ;;
        *[!0-9]* | '')
            echo "unknown field '$field' in CASES: '$spec' (SIZE:VIEWERS[:SLOW][:tls|:h2xM])" >&2
            exit 2
            ;;
        *) slow=$field ;;
        esac
    done
    local frames name reference
    frames=$(frames_for "$size")
    name="${size}p, $viewers viewers"
    [ "$slow" -gt 0 ] && name="${size}p, $viewers + $slow slow"

    local tls_options=()
    if [ -n "$transport" ]; then
        make_certificate
        tls_options=(--tls-cert "$tls_cert" --tls-key "$tls_key")
        case $transport in
        tls) name="$name, TLS" ;;
        *) name="$name, HTTP/2 over TLS, ${transport#h2x} per connection" ;;
        esac
        reference=$work/plain-$size-$viewers-$slow
    else
        start_server "$TOOLS/fanout-floor" --port 0 --frames "$frames" --fps 30
        measure /video_feed "floor, $name" "$viewers" "$slow" > "$work/floor"
        stop_server
        with_ratios "$work/floor" "$work/floor"
        reference=$work/floor
    fi
    for server in $servers; do
        local label="FrameStream"
        [ "$server" != "$BIN/ExampleServer" ] && label="baseline"
        start_framestream "$server" "$frames" "${tls_options[@]}"
        measure /cameras/emulated/stream "$label, $name" "$viewers" "$slow" "$transport" > "$work/run"
        stop_server
        with_ratios "$work/run" "$reference"
        if [ -z "$transport" ] && [ "$label" = FrameStream ]; then cp "$work/run" "$work/plain-$size-$viewers-$slow"; fi
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
echo
echo "¹ ÷ the floor's row of the same case; TLS rows (TLS, HTTP/2 over TLS): the floor has no TLS, so ÷ FrameStream's" \
    "plain HTTP/1.1 row of the same frames and viewers in this run instead (– without one)."

# Recording: the 640x480 frames looped at 30 fps with one viewer, without and then with the recorder (writing into
# .build/bench, on this machine's disk): the server's CPU, and what reached the disk per frame against the JPEG
# bytes, from the files and from the kernel's count of the process's storage writes (/proc/PID/io write_bytes).
# Then 500 live viewers and, at once, 50 viewers each playing back a different moment of the recording (curl).
status_value() { curl -s "http://127.0.0.1:$server_port/status" | python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
write_bytes() { awk '/^write_bytes/ { print $2 }' "/proc/$server_pid/io"; }
if [ "${RECORDING:-1}" = 1 ]; then
    frames=$(frames_for 480)
    recordings=$TOOLS/recordings
    echo
    echo "| recording run | server CPU | CPU ÷ without | frames written/s | JPEG bytes/frame | on disk ÷ JPEG² | storage writes ÷ JPEG³ |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    without=""
    for record in no yes; do
        rm -rf "$recordings"
        options=()
        [ "$record" = yes ] && options=(--record "$recordings" --timeshift off)
        [ "$record" = no ] && options=(--timeshift off)
        start_framestream "$BIN/ExampleServer" "$frames" "${options[@]}"
        "$TOOLS/mjpeg-load" --url "http://127.0.0.1:$server_port/cameras/emulated/stream" --clients 1 \
            --seconds "$RUN_SECONDS" --warm-up "$WARM_UP" > /dev/null &
        load=$!
        sleep "$WARM_UP"
        before=$(cpu_ticks) written_before=$(write_bytes)
        frames_before=0 bytes_before=0
        if [ "$record" = yes ]; then
            frames_before=$(status_value "['recording']['framesWritten']")
            bytes_before=$(status_value "['recording']['bytesWritten']")
        fi
        wait "$load" || [ $? -eq 1 ]
        after=$(cpu_ticks) written_after=$(write_bytes)
        seconds=$((RUN_SECONDS - WARM_UP))
        cpu=$(awk -v t=$((after - before)) -v s="$seconds" -v hz="$ticks_per_second" 'BEGIN { printf "%.1f", t / hz / s * 100 }')
        if [ "$record" = no ]; then
            without=$cpu
            echo "| 640x480 at 30 fps, 1 viewer, not recording | $cpu % | 1.00 | – | – | – | – |"
        else
            frames_after=$(status_value "['recording']['framesWritten']")
            bytes_after=$(status_value "['recording']['bytesWritten']")
            sleep 1.5 # the last sync
            on_disk=$(du -sb --apparent-size "$recordings" | awk '{ print $1 }')
            all_frames=$(status_value "['recording']['framesWritten']")
            all_bytes=$(status_value "['recording']['bytesWritten']")
            awk -v cpu="$cpu" -v without="$without" -v f=$((frames_after - frames_before)) -v s="$seconds" \
                -v b=$((bytes_after - bytes_before)) -v w=$((written_after - written_before)) -v disk="$on_disk" \
                -v af="$all_frames" -v ab="$all_bytes" 'BEGIN {
                    jpeg = (b - 24 * f) / f; all_jpeg = ab - 24 * af
                    printf "| 640x480 at 30 fps, 1 viewer, recording | %s %% | %.2f | %.1f | %.0f | %.3f | %.3f |\n",
                        cpu, cpu / without, f / s, jpeg, disk / all_jpeg, w / (b - 24 * f) }'
        fi
        stop_server
    done

    # 500 live viewers and 50 playback viewers, each at its own moment of the last 15 s.
    rm -rf "$recordings"
    start_framestream "$BIN/ExampleServer" "$frames" --record "$recordings"
    sleep 17
    playback_pids=()
    for i in $(seq 1 50); do
        start=$(awk -v i="$i" 'BEGIN { printf "-%.1fs", 1 + i * 0.3 }')
        curl -s -o "$work/playback-$i" --max-time "$RUN_SECONDS" \
            "http://127.0.0.1:$server_port/cameras/emulated/stream?start=$start" &
        playback_pids+=($!)
    done
    measure /cameras/emulated/stream "FrameStream, 480p, 500 live viewers + 50 playing back" 500 0 > "$work/run"
    for pid in "${playback_pids[@]}"; do wait "$pid" || true; done
    stop_server
    with_ratios "$work/run" "$work/plain-480-500-0"
    echo
    for i in $(seq 1 50); do grep -ac '^--frame' "$work/playback-$i" || true; done |
        awk -v s="$RUN_SECONDS" '{ n++; total += $1; if (min == "" || $1 < min) min = $1 }
            END { printf "50 playback viewers: %.1f frames/s each on average, %.1f the slowest, over %d s of their streams\n", total / n / s, min / s, s }'
    echo
    echo "² the recording's files (segments, indexes, catalog) ÷ the JPEG bytes written; ³ the bytes the server process" \
        "caused to be written to storage during the measured part of the run ÷ the JPEG bytes it recorded meanwhile." \
        "The 500 + 50 row's ratios are to the plain 500-viewer row of this run (– without it)."
fi

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
        wait "$load" || [ $? -eq 1 ] # 1: some viewers failed
        stop_server
        awk -F, -v v="$malloc_viewers" -v s="$server" '/probe_libc:malloc/ {
            printf "%s: %.0f mallocs a second at %d viewers, %.2f per viewer per frame\n", s, $1 / 5, v, $1 / 5 / 30 / v }' \
            "$work/mallocs"
    done
fi
