#!/usr/bin/env bash
# `make browser-check`: a page with ten cameras in headless Chromium, over HTTPS with HTTP/2 (all ten must show
# moving pictures), then the same page over plain HTTP/1.1 (reported: browsers open six connections per host, so
# only six streams can play). Installs chromium, openssl and websocket-client when missing; everything on
# 127.0.0.1, and every process it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
PORT=${PORT:-5443}
Scripts/install-missing.sh chromium openssl
python3 -c "import websocket" 2>/dev/null || python3 -m pip install -q websocket-client

$SWIFT build --product ExampleServer
BIN="$($SWIFT build --show-bin-path)"
WORK=$(mktemp -d /tmp/framestream-browser-check.XXXXXX)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
{
    echo "cameras:"
    for i in 1 2 3 4 5 6 7 8 9 10; do echo "  camera$i: { driver: testpattern, fps: 10, size: 320x240 }"; done
} > "$WORK/cameras.yaml"

start() {
    "$BIN/ExampleServer" --config "$WORK/cameras.yaml" --port "$PORT" "$@" > "$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 100); do
        grep -q "serving" "$WORK/server.log" && return 0
        sleep 0.1
    done
    cat "$WORK/server.log" >&2
    exit 1
}
stop() {
    kill "$SERVER" && wait "$SERVER" || true
    SERVER=""
}

echo "== HTTPS with HTTP/2: every camera must play"
start --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
status=0
Scripts/browser-check.py --url "https://127.0.0.1:$PORT/" --expect 10 || status=$?
stop

echo "== plain HTTP/1.1, for comparison (six connections per host)"
start
Scripts/browser-check.py --url "http://127.0.0.1:$PORT/" --expect 0 || true
stop
exit $status
