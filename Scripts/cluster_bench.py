#!/usr/bin/env python3
"""The relay benchmark (`make cluster-bench`): one FrameStream origin, three relays and HAProxy
(deploy/haproxy.cfg), each in a network namespace of its own as in the cluster test, and the load client
(mjpeg-load) in the namespace of the host it measures, talking to 127.0.0.1 there. It prints three Markdown tables:

  1. latency added per hop: viewers on the origin itself, on a relay, and through the balancer (which sends them
     to the relays), at a light load; the latency is from the frame's capture at the origin (`X-Timestamp`, kept
     across the relay) to the part's last byte at the viewer;
  2. the origin's CPU: 3N viewers through the balancer (N on each relay) against 3N viewers on the origin itself;
  3. viewers served when every FrameStream host's uplink is capped (a `tc tbf` rate on its link): through the
     balancer to the origin alone (the relays stopped: the origin is HAProxy's backup) against through the
     balancer to origin + 3 relays.

Usage: cluster_bench.py --server EXAMPLE_SERVER --load MJPEG_LOAD --frames DIR [options]. Needs root (network
namespaces and tc). Everything it starts stops when it ends.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_test import HAPROXY_CFG, Cluster  # noqa: E402

CAMERA = "cam"
PORT = 5000
BALANCER_PORT = 8080
RELAYS = ["relay1", "relay2", "relay3"]
TICKS = os.sysconf("SC_CLK_TCK")


class BenchCluster(Cluster):
    """The cluster test's hosts, here with the benchmark frames; each server listens on every address of its
    namespace, so that the load client reaches it at 127.0.0.1 from inside."""

    def __init__(self, server, frames, logs):
        super().__init__(server, logs)
        self.frames = frames
        if not self.network.namespaces:
            raise SystemExit("cluster-bench: network namespaces are unavailable (it needs root and iproute2)")

    def start_origin(self):
        self.start("origin", [
            self.binary, "--camera", "emulated", "--name", CAMERA, "--frames-dir", self.frames, "--fps", "30",
            "--host", "0.0.0.0", "--port", str(PORT), "--max-clients", "5000", "--log-level", "notice",
        ])

    def start_relay(self, name):
        # A relay lets go of the origin a second after its last viewer, so that one run's streams are gone before
        # the next run starts.
        self.start(name, [
            self.binary, "relay", "--origin", f"http://{self.address('origin')}/cameras/{CAMERA}/stream",
            "--host", "0.0.0.0", "--port", str(PORT), "--max-clients", "5000", "--idle-timeout", "1",
            "--log-level", "notice",
        ])

    def start_balancer(self):
        env = dict(os.environ)
        env["FRAMESTREAM_BIND"] = f"0.0.0.0:{BALANCER_PORT}"
        env["FRAMESTREAM_ORIGIN"] = self.address("origin")
        for relay in RELAYS:
            env[f"FRAMESTREAM_{relay.upper()}"] = self.address(relay)
        self.start("balancer", ["haproxy", "-db", "-f", HAPROXY_CFG], env=env)

    def cpu_seconds(self, name):
        with open(f"/proc/{self.processes[name].pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def cap_uplink(self, name, rate):
        """Caps what host `name` sends (its link's egress) at `rate` (tc's syntax: 100mbit)."""
        subprocess.run(self.network.command(name, [
            "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "256kb", "latency",
            "50ms",
        ]), check=True, capture_output=True)

    def uncap_uplink(self, name):
        subprocess.run(self.network.command(name, ["tc", "qdisc", "del", "dev", "eth0", "root"]),
                       check=False, capture_output=True)

    def served_by(self):
        """Which server the balancer sends a snapshot request to now (its X-Relay header)."""
        url = f"http://{self.address('balancer', BALANCER_PORT)}/cameras/{CAMERA}/snapshot.jpg"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.headers.get("X-Relay")

    def wait(self, what, condition, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"cluster-bench: {what} within {timeout} s (logs: {self.logs})")


class Bench:
    def __init__(self, cluster, load, seconds, warm_up):
        self.cluster, self.load, self.seconds, self.warm_up = cluster, load, seconds, warm_up

    def run(self, host, port, viewers, label, watch):
        """The load client in host's namespace against 127.0.0.1:port; returns its row's fields and the CPU (share
        of one core) of each process in `watch` over the measured part of the run."""
        argv = [self.load, "--url", f"http://127.0.0.1:{port}/cameras/{CAMERA}/stream", "--clients", str(viewers),
                "--seconds", str(self.seconds), "--warm-up", str(self.warm_up), "--label", label]
        client = subprocess.Popen(self.cluster.network.command(host, argv), stdout=subprocess.PIPE, text=True)
        time.sleep(self.warm_up)
        before = {name: self.cluster.cpu_seconds(name) for name in watch}
        output, _ = client.communicate()
        after = {name: self.cluster.cpu_seconds(name) for name in watch}
        if client.returncode not in (0, 1):  # 1: some viewers failed, which the row counts
            raise SystemExit(f"cluster-bench: the load client failed ({client.returncode}): {argv}")
        row = next(line for line in output.splitlines() if line.startswith(f"| {label} "))
        fields = [field.strip() for field in row.strip().strip("|").split("|")]
        measured = self.seconds - self.warm_up
        cpu = {name: (after[name] - before[name]) / measured * 100 for name in watch}
        # Between runs: the relays let go of the origin (idle timeout 1 s) before the next run starts.
        time.sleep(2)
        return Row(fields), cpu


class Row:
    """A row of the load client: run, viewers, fps mean, fps min, repeated, MB/s, p50, p99, max, first frame,
    errors, client CPU."""

    def __init__(self, fields):
        self.fields = fields
        self.viewers = int(fields[1])
        self.fps_mean, self.fps_min = float(fields[2]), float(fields[3])
        self.repeated = int(fields[4])
        self.megabytes = float(fields[5])
        self.p50, self.p99 = self.milliseconds(fields[6]), self.milliseconds(fields[7])
        self.errors = int(fields[10])

    @staticmethod
    def milliseconds(text):
        return float(text.split()[0]) if text.endswith("ms") else float("nan")


def latency_table(bench, viewers):
    cluster = bench.cluster
    paths = [
        ("origin", PORT, "on the origin", "–"),
        ("relay1", PORT, "on a relay", "the relay"),
        ("balancer", BALANCER_PORT, "through the balancer to the relays", "the balancer"),
    ]
    print(f"### Latency added per hop ({viewers} viewers, 640x480 at 30 fps, links not capped)")
    print()
    print("| where the viewers are | fps mean | repeated | errors | latency p50 | p99 | hop | p50 added | p99 added |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    previous = None
    for host, port, name, hop in paths:
        row, _ = bench.run(host, port, viewers, name, [])
        added50 = f"{row.p50 - previous.p50:+.1f} ms" if previous else "–"
        added99 = f"{row.p99 - previous.p99:+.1f} ms" if previous else "–"
        print(f"| {name} | {row.fps_mean:.1f} | {row.repeated} | {row.errors} | {row.p50:.1f} ms | {row.p99:.1f} ms"
              f" | {hop} | {added50} | {added99} |", flush=True)
        previous = row
    print()


def cpu_table(bench, per_relay):
    viewers = 3 * per_relay
    print(f"### The origin's CPU: {viewers} viewers (share of one core, over {bench.seconds - bench.warm_up} s)")
    print()
    print("| viewers | fps mean | fps min | repeated | errors | origin CPU | origin ÷ direct | relays' CPU (sum) |"
          " HAProxy CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    everyone = ["origin", *RELAYS, "balancer"]
    direct, cpu_direct = bench.run("origin", PORT, viewers, f"{viewers} on the origin itself", everyone)
    relayed, cpu_relayed = bench.run("balancer", BALANCER_PORT, viewers,
                                     f"{viewers} through the balancer, {per_relay} on each relay", everyone)
    for row, cpu in ((direct, cpu_direct), (relayed, cpu_relayed)):
        relays = sum(cpu[relay] for relay in RELAYS)
        ratio = cpu["origin"] / cpu_direct["origin"] if cpu_direct["origin"] > 0 else float("nan")
        print(f"| {row.fields[0]} | {row.fps_mean:.1f} | {row.fps_min:.1f} | {row.repeated} | {row.errors}"
              f" | {cpu['origin']:.1f} % | {ratio:.2f} | {relays:.1f} % | {cpu['balancer']:.1f} % |", flush=True)
    print()


def capacity_table(bench, rate, counts):
    cluster = bench.cluster
    print(f"### Viewers served with each FrameStream host's uplink capped at {rate} (640x480 at 30 fps)")
    print()
    print("| through the balancer to | viewers | fps mean | fps min | repeated | errors | MB/s to the viewers |"
          " at full rate¹ | full-rate viewers' worth² |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for host in ["origin", *RELAYS]:
        cluster.cap_uplink(host, rate)
    try:
        served = {}
        for setup in ("the origin alone", "origin + 3 relays"):
            if setup == "the origin alone":
                for relay in RELAYS:
                    cluster.kill(relay)
                cluster.wait("the balancer did not send viewers to the origin", lambda: cluster.served_by() == "origin")
            else:
                for relay in RELAYS:
                    cluster.start_relay(relay)
                cluster.wait("the balancer did not send viewers to the relays",
                             lambda: (cluster.served_by() or "").startswith("relay"))
                time.sleep(3)  # every relay up in HAProxy, not only the first
            for viewers in counts:
                row, _ = bench.run("balancer", BALANCER_PORT, viewers, f"{setup}, {viewers}", [])
                full = row.fps_min >= 28.5 and row.errors == 0
                if full:
                    served[setup] = max(served.get(setup, 0), viewers)
                print(f"| {setup} | {viewers} | {row.fps_mean:.1f} | {row.fps_min:.1f} | {row.repeated}"
                      f" | {row.errors} | {row.megabytes:.1f} | {'yes' if full else 'no'}"
                      f" | {viewers * row.fps_mean / 30:.1f} |", flush=True)
        print()
        alone, relayed = served.get("the origin alone", 0), served.get("origin + 3 relays", 0)
        ratio = f"{relayed / alone:.1f}×" if alone else "–"
        print(f"Most viewers at full rate in these runs: the origin alone {alone}, origin + 3 relays {relayed}"
              f" ({ratio}).")
        print()
        print("¹ every viewer at 28.5 fps or more (95 % of the camera's rate), and no viewer failed. ² the frames all"
              " the viewers got, in viewers at the camera's 30 fps: viewers × fps mean ÷ 30.")
    finally:
        for host in ["origin", *RELAYS]:
            cluster.uncap_uplink(host)
    print()


def took_too_long(*_):
    raise SystemExit("cluster-bench: it took over 15 minutes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--load", required=True)
    parser.add_argument("--frames", required=True)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--latency-viewers", type=int, default=10)
    parser.add_argument("--per-relay", type=int, default=50)
    parser.add_argument("--uplink", default="100mbit")
    parser.add_argument("--capacity-counts", default="8,16,24,32")
    arguments = parser.parse_args()

    logs = tempfile.mkdtemp(prefix="framestream-cluster-bench-")
    cluster = BenchCluster(arguments.server, arguments.frames, logs)
    signal.signal(signal.SIGALRM, took_too_long)
    signal.alarm(15 * 60)  # stops by itself, and the `finally` below stops what it started
    try:
        cluster.start_origin()
        for relay in RELAYS:
            cluster.start_relay(relay)
        cluster.start_balancer()
        cluster.wait("the relays did not come up behind the balancer",
                     lambda: (cluster.served_by() or "").startswith("relay"))
        time.sleep(3)
        bench = Bench(cluster, arguments.load, arguments.seconds, arguments.warm_up)
        latency_table(bench, arguments.latency_viewers)
        cpu_table(bench, arguments.per_relay)
        capacity_table(bench, arguments.uplink, [int(count) for count in arguments.capacity_counts.split(",")])
    except BaseException:
        print(f"cluster-bench: the servers' logs are in {logs}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(logs, ignore_errors=True)
    finally:
        signal.alarm(0)
        cluster.stop()


if __name__ == "__main__":
    main()
