#!/usr/bin/env python3
"""The loopback cluster test: one FrameStream origin, three relays and HAProxy (deploy/haproxy.cfg), each in a
network namespace of its own joined by veth links to a bridge (or, where namespaces cannot be made, each on a
loopback address of its own), and viewers on this machine that connect through the balancer.

It checks what the relays promise (deploy/README.md):
  1. many viewers through the balancer get fresh frames only, numbered and timed as the origin made them;
  2. the origin serves exactly one stream per relay with viewers;
  3. killing a relay moves its viewers (after they reconnect, as the page's script does) to the others, while the
     others see no gap;
  4. a slow viewer on a relay stays about one of its frames behind (it is skipped to the newest frame), and
     through the balancer a few at most;
  5. once every viewer has gone, the relays let go of the origin, and then the origin's camera stops.

Usage: cluster_test.py EXAMPLE_SERVER_BINARY [--keep-logs DIR]. Everything it starts stops when it ends; exits 0
when every check passed, 1 otherwise, with a line per check.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CAMERA = "cam"
FPS = 15
IDLE_TIMEOUT = 3
PORT = 5000
BALANCER_PORT = 8080
VIEWERS = 24
HAPROXY_CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "haproxy.cfg")


class Network:
    """Where each host of the cluster lives: a network namespace with a veth link to a bridge here, or a loopback
    address of its own."""

    PREFIX = "fscluster"
    SUBNET = "10.213.77"

    def __init__(self, names):
        self.names = names
        self.namespaces = self._try_namespaces()
        base = self.SUBNET if self.namespaces else "127.0.213"
        self.addresses = {name: f"{base}.{10 + index}" for index, name in enumerate(names)}

    def _run(self, *args, check=True):
        return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)

    def _try_namespaces(self):
        if shutil.which("ip") is None or os.geteuid() != 0:
            return False
        self.cleanup()
        try:
            bridge = f"{self.PREFIX}br"
            self._run("link", "add", bridge, "type", "bridge")
            self._run("addr", "add", f"{self.SUBNET}.1/24", "dev", bridge)
            self._run("link", "set", bridge, "up")
            for index, name in enumerate(self.names):
                namespace = f"{self.PREFIX}-{name}"
                outside = f"{self.PREFIX}{index}"
                self._run("netns", "add", namespace)
                self._run("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
                self._run("link", "set", outside, "master", bridge, "up")
                self._run("-n", namespace, "addr", "add", f"{self.SUBNET}.{10 + index}/24", "dev", "eth0")
                self._run("-n", namespace, "link", "set", "eth0", "up")
                self._run("-n", namespace, "link", "set", "lo", "up")
            # As deploy/haproxy.cfg asks of the balancer's machine (a per-namespace setting).
            subprocess.run(["ip", "netns", "exec", f"{self.PREFIX}-balancer", "sysctl", "-q", "-w",
                            "net.ipv4.tcp_notsent_lowat=16384"], check=True, capture_output=True)
            return True
        except subprocess.CalledProcessError as error:
            print(f"network namespaces unavailable ({error.stderr.strip()}): using loopback addresses")
            self.cleanup()
            return False

    def command(self, name, argv):
        """`argv` run on host `name`."""
        return ["ip", "netns", "exec", f"{self.PREFIX}-{name}", *argv] if self.namespaces else argv

    def cleanup(self):
        for name in self.names:
            self._run("netns", "delete", f"{self.PREFIX}-{name}", check=False)
        self._run("link", "delete", f"{self.PREFIX}br", check=False)


class Cluster:
    """The origin, the relays and the balancer, as processes; their logs in a folder."""

    def __init__(self, binary, logs):
        self.binary = binary
        self.logs = logs
        self.relays = ["relay1", "relay2", "relay3"]
        self.network = Network(["origin", *self.relays, "balancer"])
        self.processes = {}

    def address(self, name, port=PORT):
        return f"{self.network.addresses[name]}:{port}"

    def url(self, name, path, port=PORT):
        return f"http://{self.address(name, port)}{path}"

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.logs, f"{name}.log"), "ab")
        self.processes[name] = subprocess.Popen(
            self.network.command(name, argv), stdout=log, stderr=log, env=env, start_new_session=True
        )

    def start_origin(self):
        self.start("origin", [
            self.binary, "--camera", "emulated", "--name", CAMERA, "--fps", str(FPS),
            "--host", self.network.addresses["origin"], "--port", str(PORT),
            "--idle-timeout", str(IDLE_TIMEOUT), "--log-level", "info",
        ])

    def start_relay(self, name):
        self.start(name, [
            self.binary, "relay", "--origin", self.url("origin", f"/cameras/{CAMERA}/stream"),
            "--host", self.network.addresses[name], "--port", str(PORT),
            "--idle-timeout", str(IDLE_TIMEOUT), "--log-level", "info",
        ])

    def start_balancer(self):
        env = dict(os.environ)
        env["FRAMESTREAM_BIND"] = self.address("balancer", BALANCER_PORT)
        env["FRAMESTREAM_ORIGIN"] = self.address("origin")
        for relay in self.relays:
            env[f"FRAMESTREAM_{relay.upper()}"] = self.address(relay)
        self.start("balancer", ["haproxy", "-db", "-f", HAPROXY_CFG], env=env)

    def kill(self, name):
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self):
        for name in list(self.processes):
            process = self.processes.pop(name)
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.network.cleanup()

    def status(self, name):
        """The camera's status JSON at a server."""
        with urllib.request.urlopen(self.url(name, f"/cameras/{CAMERA}/status"), timeout=5) as response:
            return json.load(response)

    def health(self, name):
        try:
            with urllib.request.urlopen(self.url(name, "/healthz"), timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None


class Part:
    """One part of a stream as a viewer received it."""

    __slots__ = ("received", "sequence", "timestamp", "placeholder", "relay")

    def __init__(self, received, sequence, timestamp, placeholder, relay):
        self.received = received
        self.sequence = sequence
        self.timestamp = timestamp
        self.placeholder = placeholder
        self.relay = relay


class Viewer(threading.Thread):
    """A viewer of the stream through the balancer: reads every part, and reconnects a second after its stream
    ends, as the index page's script does. A slow one sleeps after each part, with a small receive buffer."""

    latest_sequence = 0
    lock = threading.Lock()

    def __init__(self, host, port, path, slow_delay=None, reconnect=True):
        super().__init__(daemon=True)
        self.host, self.port, self.path = host, port, path
        self.slow_delay = slow_delay
        self.reconnect = reconnect
        self.parts = []
        self.connections = []  # (time, relay) of each stream that started
        self.disconnects = []  # time each stream ended
        self.lags = []  # for a slow viewer: frames it was behind the newest frame, per part
        self.stopping = threading.Event()
        self.socket = None
        self.relay = None

    def stop(self):
        self.stopping.set()
        if self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self):
        while not self.stopping.is_set():
            try:
                self._stream()
            except OSError:
                pass
            if self.stopping.is_set():
                break
            self.disconnects.append(time.monotonic())
            if not self.reconnect:
                break
            self.stopping.wait(1.0)

    def _stream(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.slow_delay:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        self.socket = sock
        try:
            sock.connect((self.host, self.port))
            sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
            reader = sock.makefile("rb")
            status = reader.readline()
            headers = {}
            while True:
                line = reader.readline()
                if not line or line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if b" 200 " not in status:
                raise OSError(f"status {status!r}")
            self.relay = headers.get("x-relay")
            self.connections.append((time.monotonic(), self.relay))
            chunked = headers.get("transfer-encoding", "").lower() == "chunked"
            body = ChunkedReader(reader) if chunked else reader
            buffer = b""
            while not self.stopping.is_set():
                end = buffer.find(b"\r\n\r\n")
                while end < 0:
                    data = body.read1(65536)
                    if not data:
                        return
                    buffer += data
                    end = buffer.find(b"\r\n\r\n")
                fields = {}
                for line in buffer[:end].split(b"\r\n"):
                    name, colon, value = line.decode("latin-1").partition(":")
                    if colon:
                        fields[name.strip().lower()] = value.strip()
                buffer = buffer[end + 4:]
                length = int(fields.get("content-length", "0"))
                while len(buffer) < length:
                    data = body.read1(65536)
                    if not data:
                        return
                    buffer += data
                buffer = buffer[length:]
                sequence = int(fields["x-frame-sequence"]) if "x-frame-sequence" in fields else None
                part = Part(time.time(), sequence, float(fields.get("x-timestamp", "0")),
                            fields.get("x-placeholder"), self.relay)
                self.parts.append(part)
                if self.slow_delay:
                    with Viewer.lock:
                        newest = Viewer.latest_sequence
                    if sequence is not None and newest:
                        self.lags.append(newest - sequence)
                    time.sleep(self.slow_delay)
                elif sequence is not None:
                    with Viewer.lock:
                        Viewer.latest_sequence = max(Viewer.latest_sequence, sequence)
        finally:
            self.socket = None
            sock.close()

    def frames(self, since=0.0, until=float("inf")):
        return [p for p in self.parts if p.placeholder is None and since <= p.received < until]


class ChunkedReader:
    """The body of a chunked HTTP/1.1 response, as read1() calls."""

    def __init__(self, reader):
        self.reader = reader
        self.left = 0

    def read1(self, size):
        if self.left == 0:
            line = self.reader.readline()
            if line in (b"\r\n", b"\n"):
                line = self.reader.readline()
            if not line:
                return b""
            self.left = int(line.split(b";")[0].strip() or b"0", 16)
            if self.left == 0:
                return b""
        data = self.reader.read1(min(size, self.left))
        self.left -= len(data)
        return data


class Checks:
    def __init__(self):
        self.failures = 0

    def check(self, ok, what, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if detail else ""), flush=True)
        if not ok:
            self.failures += 1
        return ok


def wait_until(condition, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(interval)
    return False


def fresh_only(frames):
    """Whether the frames' numbers only ever increase (no frame twice, none older than one before it)."""
    return all(b.sequence > a.sequence for a, b in zip(frames, frames[1:]))


def longest_gap(frames):
    return max((b.received - a.received for a, b in zip(frames, frames[1:])), default=float("inf"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--keep-logs")
    arguments = parser.parse_args()
    logs = arguments.keep_logs or tempfile.mkdtemp(prefix="framestream-cluster-")
    os.makedirs(logs, exist_ok=True)
    cluster = Cluster(os.path.abspath(arguments.binary), logs)
    checks = Checks()
    viewers = []
    alarm = threading.Timer(240, lambda: (print("FAIL the cluster test took over 4 minutes"), os._exit(2)))
    alarm.daemon = True
    alarm.start()
    try:
        print(f"hosts: {cluster.network.addresses} ({'network namespaces' if cluster.network.namespaces else 'loopback'})")
        cluster.start_origin()
        for relay in cluster.relays:
            cluster.start_relay(relay)
        cluster.start_balancer()
        everyone = ["origin", *cluster.relays]
        up = wait_until(lambda: all(cluster.health(name) == 200 for name in everyone), 60)
        if not checks.check(up, "origin and relays answer /healthz with 200"):
            return 1
        idle = all(cluster.status(name)["camera"]["phase"] == "stopped" for name in everyone)
        checks.check(idle, "with no viewers, no camera runs and no relay connects to the origin")

        # 1 and 2: many viewers through the balancer.
        host, port = cluster.network.addresses["balancer"], BALANCER_PORT
        path = f"/cameras/{CAMERA}/stream"
        reached = wait_until(lambda: urllib.request.urlopen(
            f"http://{host}:{port}/healthz", timeout=2).status == 200, 30)
        checks.check(reached, "the balancer answers")
        # Give HAProxy's health checks time to mark every relay up (rise 2, every second).
        time.sleep(3)
        viewers = [Viewer(host, port, path) for _ in range(VIEWERS)]
        for viewer in viewers:
            viewer.start()
        started = time.time()
        streaming = wait_until(lambda: all(len(v.frames()) >= 3 for v in viewers), 30)
        checks.check(streaming, f"{VIEWERS} viewers through the balancer get frames")
        time.sleep(4)
        spread = {relay: sum(1 for v in viewers if v.relay == relay) for relay in cluster.relays}
        checks.check(all(count > 0 for count in spread.values()) and sum(spread.values()) == VIEWERS,
                     "the balancer spreads the viewers over the three relays", f"{spread}")
        origin = cluster.status("origin")
        checks.check(origin["clients"] == 3, "the origin serves exactly one stream per relay",
                     f"{origin['clients']} streams at the origin for {VIEWERS} viewers")
        stale = [v for v in viewers if not fresh_only(v.frames())]
        checks.check(not stale, "every viewer gets fresh frames only (numbers only increase)",
                     f"{len(stale)} viewers got a frame again or an older one" if stale else "")
        # The same frame has the same number and capture time on every relay: the origin's.
        times = {}
        mismatched = 0
        for viewer in viewers:
            for part in viewer.frames():
                if times.setdefault(part.sequence, part.timestamp) != part.timestamp:
                    mismatched += 1
        relays_seen = {p.relay for v in viewers for p in v.frames()}
        checks.check(mismatched == 0 and len(relays_seen) == 3,
                     "relays keep the origin's frame numbers and capture times",
                     f"{len(times)} frames, {mismatched} seen with another capture time")
        origin_last = cluster.status("origin")["camera"].get("lastFrameSequence", 0)
        newest = max(p.sequence for v in viewers for p in v.frames())
        checks.check(abs(origin_last - newest) <= 3, "viewers' newest frame number is the origin's",
                     f"origin {origin_last}, viewers {newest}")
        latencies = sorted(p.received - p.timestamp for v in viewers for p in v.frames(since=started + 2))
        if latencies:
            p50 = latencies[len(latencies) // 2] * 1000
            p99 = latencies[int(len(latencies) * 0.99)] * 1000
            print(f"     capture-to-viewer latency through a relay and the balancer: p50 {p50:.1f} ms, p99 {p99:.1f} ms")

        # 4: slow viewers, on a relay directly and through the balancer. A slow viewer reads a frame every
        # SLOW seconds; one that the relay skips to the newest frame gets frames about SLOW old (one of its own
        # frames behind), one that falls behind gets ever older ones.
        slow_delay = 0.4
        direct = Viewer(cluster.network.addresses["relay1"], PORT, path, slow_delay=slow_delay, reconnect=False)
        balanced = Viewer(host, port, path, slow_delay=slow_delay, reconnect=False)
        direct.start()
        balanced.start()
        time.sleep(8)
        direct.stop()
        balanced.stop()
        for slow, where, most in ((direct, "on a relay", 2), (balanced, "through the balancer", 8)):
            frames = slow.frames()[3:]
            if not checks.check(len(frames) >= 8, f"a slow viewer {where} gets frames", f"{len(frames)} frames"):
                continue
            ages = [p.received - p.timestamp for p in frames]
            behind = statistics.median(ages) / slow_delay
            late = statistics.median(ages[len(ages) // 2:]) / slow_delay
            checks.check(behind <= most and late <= most and fresh_only(frames),
                         f"a slow viewer {where} stays at most {most} of its frames behind, fresh frames only",
                         f"median {behind:.1f} of its frames behind ({late:.1f} in the second half), "
                         f"{statistics.median(ages) * 1000:.0f} ms old")

        # 3: kill a relay.
        victim = cluster.relays[1]
        moved = [v for v in viewers if v.relay == victim]
        others = [v for v in viewers if v.relay != victim]
        killed_at = time.monotonic()
        killed_wall = time.time()
        cluster.kill(victim)
        back = wait_until(lambda: all(v.relay != victim and v.connections[-1][0] > killed_at
                                      and len(v.frames(since=killed_wall)) >= 3 for v in moved), 30)
        checks.check(back, f"the {len(moved)} viewers of the killed {victim} reconnect to the others and get frames",
                     f"now on {sorted({v.relay for v in moved})}")
        time.sleep(2)
        window_end = time.time()
        gaps = [longest_gap(v.frames(since=killed_wall - 1, until=window_end)) for v in others]
        dropped = [v for v in others if v.disconnects and v.disconnects[-1] > killed_at]
        checks.check(max(gaps) < 1.0 and not dropped,
                     f"the other {len(others)} viewers see no gap while {victim} dies",
                     f"longest time between two frames {max(gaps) * 1000:.0f} ms, {len(dropped)} streams cut")
        streams = wait_until(lambda: cluster.status("origin")["clients"] == 2, 10)
        checks.check(streams, "the origin then serves two streams, one per live relay",
                     f"{cluster.status('origin')['clients']} streams")

        # 5: every viewer leaves.
        for viewer in viewers:
            viewer.stop()
        left = time.monotonic()
        live = [r for r in cluster.relays if r != victim]
        relays_idle = wait_until(lambda: all(cluster.status(r)["camera"]["phase"] == "stopped" for r in live),
                                 IDLE_TIMEOUT + 10, 0.1)
        relays_idle_after = time.monotonic() - left
        origin_running = cluster.status("origin")["camera"]["phase"] != "stopped"
        origin_idle = wait_until(lambda: cluster.status("origin")["camera"]["phase"] == "stopped",
                                 IDLE_TIMEOUT + 10, 0.1)
        origin_idle_after = time.monotonic() - left
        checks.check(relays_idle and origin_idle and origin_running,
                     "with no viewers the relays let go of the origin, and then the origin's camera stops",
                     f"relays idle after {relays_idle_after:.1f} s, origin after {origin_idle_after:.1f} s "
                     f"(idle timeouts {IDLE_TIMEOUT} s)")
        checks.check(cluster.status("origin")["clients"] == 0, "the origin then serves no stream")

        # The relays' health follows the origin's.
        cluster.kill("origin")
        unhealthy = wait_until(lambda: all(cluster.health(r) == 503 for r in live), 10)
        checks.check(unhealthy, "with the origin gone, the relays' /healthz answers 503",
                     f"{[cluster.health(r) for r in live]}")
    finally:
        for viewer in viewers:
            viewer.stop()
        cluster.stop()
        alarm.cancel()
    print(f"logs in {logs}")
    if checks.failures:
        print(f"{checks.failures} cluster checks failed")
        return 1
    print("every cluster check passed")
    if not arguments.keep_logs:
        shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
