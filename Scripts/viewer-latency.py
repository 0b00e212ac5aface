#!/usr/bin/env python3
"""Measures what viewers of a FrameStream server see: frames per second, duplicates, and latency from each part's
X-Timestamp to the moment the part has been received, for fast viewers and for slow viewers that read at a capped
rate with a small receive buffer.

    Scripts/viewer-latency.py --port 5000 --fast 2 --slow 2 --rate 250000 --seconds 20

Connects to 127.0.0.1 only, and stops by itself after --seconds.
"""
import argparse
import socket
import statistics
import threading
import time


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Viewer(threading.Thread):
    def __init__(self, port, path, rate, seconds, receive_buffer):
        super().__init__(daemon=True)
        self.port, self.path, self.rate, self.seconds, self.receive_buffer = port, path, rate, seconds, receive_buffer
        self.latencies, self.sequences, self.duplicates, self.error = [], [], 0, None

    def run(self):
        try:
            self.read_stream()
        except Exception as error:  # reported in the table
            self.error = repr(error)

    def read_stream(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", self.port))
        sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        raw = bytearray()
        body = bytearray()
        head_done = False
        started = time.monotonic()
        received = 0
        while time.monotonic() - started < self.seconds:
            chunk = sock.recv(4096 if self.rate else 65536)
            if not chunk:
                break
            received += len(chunk)
            if self.rate:  # read no faster than the rate
                ahead = received / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            raw += chunk
            if not head_done:
                end = raw.find(b"\r\n\r\n")
                if end < 0:
                    continue
                del raw[: end + 4]
                head_done = True
            # Remove the chunked transfer encoding.
            while True:
                line_end = raw.find(b"\r\n")
                if line_end < 0:
                    break
                size = int(raw[:line_end] or b"0", 16)
                if len(raw) < line_end + 2 + size + 2:
                    break
                body += raw[line_end + 2 : line_end + 2 + size]
                del raw[: line_end + 2 + size + 2]
            # Take out complete parts.
            while True:
                start = body.find(b"--frame\r\n")
                header_end = body.find(b"\r\n\r\n", start)
                if start < 0 or header_end < 0:
                    break
                headers = dict(
                    line.split(": ", 1) for line in body[start + 9 : header_end].decode().split("\r\n") if ": " in line
                )
                length = int(headers["Content-Length"])
                if len(body) < header_end + 4 + length:
                    break
                del body[: header_end + 4 + length]
                now = time.time()
                self.latencies.append(now - float(headers["X-Timestamp"]))
                if self.sequences[-1:] and int(headers["X-Frame-Sequence"]) <= self.sequences[-1]:
                    self.duplicates += 1
                self.sequences.append(int(headers["X-Frame-Sequence"]))
        sock.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--path", default="/video_feed")
    parser.add_argument("--fast", type=int, default=2)
    parser.add_argument("--slow", type=int, default=2)
    parser.add_argument("--rate", type=int, default=250_000, help="bytes per second a slow viewer reads")
    parser.add_argument("--receive-buffer", type=int, default=65536, help="a slow viewer's SO_RCVBUF")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of each viewer's start left out")
    args = parser.parse_args()
    viewers = [("fast", Viewer(args.port, args.path, 0, args.seconds, 0)) for _ in range(args.fast)]
    viewers += [("slow", Viewer(args.port, args.path, args.rate, args.seconds, args.receive_buffer)) for _ in range(args.slow)]
    for _, viewer in viewers:
        viewer.start()
    for _, viewer in viewers:
        viewer.join(args.seconds + 15)
    print("| viewer | frames | fps | duplicates | latency p50 | p99 | max | error |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for kind, viewer in viewers:
        frames = len(viewer.sequences)
        skip = int(frames * args.warmup / args.seconds)
        latencies = viewer.latencies[skip:]
        print(
            f"| {kind} | {frames} | {frames / args.seconds:.1f} | {viewer.duplicates} "
            f"| {percentile(latencies, 0.5) * 1000:.0f} ms | {percentile(latencies, 0.99) * 1000:.0f} ms "
            f"| {max(latencies, default=float('nan')) * 1000:.0f} ms | {viewer.error or ''} |"
        )


if __name__ == "__main__":
    main()
