# Sourced by the benchmarks (Scripts/bench.sh, Scripts/cluster-bench.sh): the release ExampleServer, the floor and
# the load client built into .build/bench, and the frames they serve. The caller sets $work, a folder of its own
# that it removes when it ends.

BIN=.build/release
TOOLS=.build/bench

# Builds what the benchmarks run: ExampleServer (release), fanout-floor and mjpeg-load. The load client's TLS and
# HTTP/2 need OpenSSL and libnghttp2: when pkg-config does not find them, installs libssl-dev libnghttp2-dev
# openssl (and pkg-config) with apt-get, through sudo when not root.
prepare_bench_tools() {
    local tool
    for tool in python3 curl "${CC:-cc}"; do
        command -v "$tool" > /dev/null || { echo "the benchmark needs $tool (apt-get install ${tool/cc/gcc})" >&2 && exit 2; }
    done
    if ! pkg-config --exists openssl libnghttp2 2> /dev/null || ! command -v openssl > /dev/null; then
        local tls_packages="libssl-dev libnghttp2-dev openssl pkg-config" sudo=""
        echo "Installing system packages: $tls_packages" >&2
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq >&2
        # shellcheck disable=SC2086 # one word per package
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tls_packages >&2
    fi
    swift build -c release --product ExampleServer >&2
    mkdir -p "$TOOLS"
    "${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$TOOLS/fanout-floor" Benchmarks/Floor/fanout-floor.c
    "${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$TOOLS/mjpeg-load" Benchmarks/LoadClient/mjpeg-load.c -lm \
        -lssl -lcrypto -lnghttp2
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# Starts a server (the command line given) whose log says where it listens; sets $server_pid and $server_port.
start_server() {
    "$@" > "$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 200); do
        server_port=$(grep -o 'at https\{0,1\}://127.0.0.1:[0-9]*' "$work/server.log" | grep -o '[0-9]*$' || true)
        [ -n "$server_port" ] && return 0
        sleep 0.05
    done
    echo "the server did not start: $*" >&2
    cat "$work/server.log" >&2
    exit 1
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# The frames of one size ($1: 480 or 720): 30 distinct test-pattern frames, made once by ExampleServer and saved as
# files; prints their folder.
frames_for() {
    local size quality folder
    case $1 in
    480) size=640x480 quality=75 ;;
    720) size=1280x720 quality=85 ;;
    *) echo "unknown frame size '$1' (480 or 720)" >&2 && exit 2 ;;
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
