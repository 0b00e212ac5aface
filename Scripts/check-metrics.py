#!/usr/bin/env python3
"""Checks ExampleServer's /metrics: it parses as Prometheus text (with prometheus_client's own parser), and the
camera's metrics move as they should while viewers watch, one is refused, and a snapshot is taken.

Usage: Scripts/check-metrics.py PATH/TO/ExampleServer   (make test runs it; everything stays on 127.0.0.1)
"""
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def start(server, *arguments):
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([server, "--port", "0", "--fps", "20", *arguments], stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        log.seek(0)
        text = log.read().decode(errors="replace")
        found = re.search(r"serving .* at http://127\.0\.0\.1:(\d+)/", text)
        if found:
            metrics = re.search(r"metrics at http://127\.0\.0\.1:(\d+)/metrics", text)
            return process, int(found.group(1)), (int(metrics.group(1)) if metrics else None), log
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    log.seek(0)
    sys.exit("the server did not start: " + log.read().decode(errors="replace"))


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def watch(port, seconds):
    """A viewer that reads the stream for a while, then leaves."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(b"GET /video_feed HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = 0
    end = time.time() + seconds
    while time.time() < end:
        received += len(connection.recv(65536))
    return connection, received


def samples(port, path="/metrics"):
    status, headers, body = get(port, path)
    assert status == 200, f"{path}: {status}"
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers["Content-Type"]
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    assert key in found, f"{name}{labels} missing; have: {sorted(k for k in found if k[0].startswith(name))}"
    return found[key]


def main():
    server = sys.argv[1]
    process, port, _, log = start(server, "--max-clients", "1")
    try:
        viewer, received = watch(port, 1.5)
        assert received > 10_000, received
        # The only place is taken: a second viewer is refused.
        status, _, _ = get(port, "/video_feed")
        assert status == 503, status
        found = samples(port)
        camera = {"camera": "emulated"}
        assert value(found, "framestream_camera_starts_total", **camera) == 1
        assert value(found, "framestream_camera_streaming", **camera) == 1
        assert value(found, "framestream_viewers", kind="stream", **camera) == 1
        assert value(found, "framestream_viewers", kind="snapshot", **camera) == 0
        assert value(found, "framestream_viewers_refused_total", status="503", **camera) == 1
        captured = value(found, "framestream_frames_captured_total", **camera)
        sent = value(found, "framestream_frames_sent_total", **camera)
        assert captured >= 10, captured
        assert 1 <= sent <= captured, (sent, captured)
        assert value(found, "framestream_sent_bytes_total", **camera) >= received - 1000
        # The histograms: as many latencies as frames sent, as many sizes as frames captured.
        assert value(found, "framestream_frame_latency_seconds_count", **camera) == sent
        assert value(found, "framestream_frame_latency_seconds_bucket", le="+Inf", **camera) == sent
        assert value(found, "framestream_frame_latency_seconds_sum", **camera) >= 0
        assert value(found, "framestream_frame_size_bytes_count", **camera) == captured
        viewer.close()
        time.sleep(0.5)
        found = samples(port)
        assert value(found, "framestream_viewers", kind="stream", **camera) == 0
        assert value(found, "framestream_frames_captured_total", **camera) >= captured
    finally:
        process.terminate()
        process.wait(timeout=30)

    # On a listener of its own: not on the main port any more.
    process, port, metrics_port, log = start(server, "--metrics-port", "0")
    try:
        assert metrics_port is not None and metrics_port != port
        assert get(port, "/metrics")[0] == 404
        found = samples(metrics_port)
        assert value(found, "framestream_camera_starts_total", camera="emulated") == 0
        assert get(metrics_port, "/snapshot.jpg")[0] == 404
    finally:
        process.terminate()
        process.wait(timeout=30)
    print("check-metrics: /metrics parses, and its values follow the viewers")


if __name__ == "__main__":
    main()
