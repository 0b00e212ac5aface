#!/usr/bin/env bash
# `make player-check`: a recording test-pattern camera's player page in headless Chromium; reads the clock drawn
# into the picture to prove that it plays, that pause freezes it, that −10 s shows frames 10 s older and that
# "live" comes back to the present (Scripts/player-check.py). Installs chromium and websocket-client when missing;
# everything on 127.0.0.1, and every process it starts is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
PORT=${PORT:-5481}
RECORD_SECONDS=${RECORD_SECONDS:-25}
Scripts/install-missing.sh chromium
python3 -c "import websocket" 2>/dev/null || python3 -m pip install -q websocket-client

$SWIFT build --product ExampleServer
BIN="$($SWIFT build --show-bin-path)"
WORK=$(mktemp -d /tmp/framestream-player-check.XXXXXX)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/cameras.yaml" <<YAML
cameras:
  cam: { driver: testpattern, fps: 10, size: 640x480, record: { path: $WORK/recordings } }
YAML

"$BIN/ExampleServer" --config "$WORK/cameras.yaml" --port "$PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do
    grep -q "serving" "$WORK/server.log" && break
    sleep 0.1
done
if ! grep -q "serving" "$WORK/server.log"; then
    cat "$WORK/server.log" >&2
    exit 1
fi

# The camera records without viewers: give the player some history to go back into.
echo "== recording for $RECORD_SECONDS s"
sleep "$RECORD_SECONDS"

echo "== the player page"
status=0
Scripts/player-check.py --url "http://127.0.0.1:$PORT/cameras/cam/player" || status=$?
if [ $status -ne 0 ]; then
    echo "== the server's log" >&2
    tail -n 40 "$WORK/server.log" >&2
fi
exit $status
