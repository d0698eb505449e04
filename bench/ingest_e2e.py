#!/usr/bin/python3
"""racktel-ingest end to end, on this machine: racktel-fleet publishes as N
racks to mosquitto, racktel-ingest writes to a real Prometheus (remote-write
receiver, out-of-order window). Prints readings/s sustained, the latency from
a reading's timestamp to being queryable in Prometheus (p50, p99), and the
CPU and resident memory of every process. A benchmark: it asserts nothing.

    bench/ingest_e2e.py [--racks 200] [--seconds 60] [--instances 1] [--build build/release]
                        [--tsdb prometheus|victoriametrics]
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, key="VmRSS"):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


def victoria_metrics_class():
    """Debian's single-node victoria-metrics as a remote-write receiver: Prometheus' query API, its own start."""
    from conftest import wait_for
    from monitoring import Prometheus, reachable

    class VictoriaMetrics(Prometheus):
        def start(self):
            self.process = subprocess.Popen(
                ["victoria-metrics", f"-storageDataPath={self.directory / 'data'}",
                 f"-httpListenAddr=127.0.0.1:{self.port}", "-search.latencyOffset=0s", "-loggerLevel=WARN"],
                stdout=open(self.directory / "vm.log", "ab"), stderr=subprocess.STDOUT)
            wait_for(lambda: reachable(f"{self.url}/health"), timeout=30, what="victoria-metrics")
            return self

    return VictoriaMetrics


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--racks", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    parser.add_argument("--tsdb", choices=["prometheus", "victoriametrics"], default="prometheus")
    args = parser.parse_args()
    os.environ["RACKTEL_BUILD_DIR"] = str(pathlib.Path(args.build).resolve())
    os.environ["RACKTEL_SOURCE_DIR"] = str(ROOT)
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    sys.path.insert(0, str(pathlib.Path(args.build) / "agent" / "python"))
    from conftest import Broker
    from monitoring import Ingest, Prometheus

    work = pathlib.Path(tempfile.mkdtemp(prefix="racktel-ingest-e2e-"))
    (work / "broker").mkdir()
    broker = Broker(work / "broker")
    broker.start()
    prometheus = (Prometheus(work / "prometheus") if args.tsdb == "prometheus"
                  else victoria_metrics_class()(work / "victoriametrics")).start()
    ingests = [Ingest(work / f"ingest-{i}", [broker.uri], [prometheus.write_url], instance=f"e2e{i}",
                      extra="", mqtt_extra="").start() for i in range(args.instances)]
    # Batches of up to 50 000 samples, sent within 1 s: the shipped defaults.
    fleet_log = open(work / "fleet.log", "wb")
    fleet = subprocess.Popen([str(pathlib.Path(args.build) / "bench" / "racktel-fleet"), "--broker", broker.uri,
                              "--racks", str(args.racks), "--duration", str(args.seconds + 5)],
                             stdout=fleet_log, stderr=subprocess.STDOUT)
    warmup = 10
    time.sleep(warmup)

    probes = [f"r{i:04d}" for i in range(0, args.racks, max(1, args.racks // 3))][:3]
    latencies = []
    seen = set()
    stop = threading.Event()

    def probe():
        # Only readings taken after probing began: the first query also returns older ones.
        begun = time.time()
        while not stop.is_set():
            for rack in probes:
                try:
                    result = prometheus.query(
                        f'racktel_power_watts{{site="fleet",rack="{rack}",sensor="shelf0.input_power"}}[60s]')
                except OSError:
                    continue
                now = time.time()
                for series in result:
                    for t, _ in series["values"]:
                        key = (rack, t)
                        if key not in seen and float(t) > begun:
                            seen.add(key)
                            latencies.append(now - float(t))
            time.sleep(0.25)

    pids = {"racktel-ingest": [i.process.pid for i in ingests], args.tsdb: [prometheus.process.pid],
            "mosquitto": [broker.process.pid], "racktel-fleet": [fleet.pid]}
    cpu0 = {name: sum(cpu_seconds(p) for p in ps) for name, ps in pids.items()}
    metrics0 = [i.metrics() for i in ingests]
    t0 = time.monotonic()
    thread = threading.Thread(target=probe)
    thread.start()
    time.sleep(args.seconds - warmup)
    stop.set()
    thread.join()
    elapsed = time.monotonic() - t0
    cpu1 = {name: sum(cpu_seconds(p) for p in ps) for name, ps in pids.items()}
    metrics1 = [i.metrics() for i in ingests]
    rss = {name: sum(rss_kib(p) for p in ps) for name, ps in pids.items()}
    anon = sum(rss_kib(i.process.pid, "RssAnon") for i in ingests)

    readings = sum(m1["racktel_ingest_readings_total"] - m0["racktel_ingest_readings_total"]
                   for m0, m1 in zip(metrics0, metrics1))
    samples_key = f'racktel_ingest_remote_write_samples_total{{endpoint="{prometheus.write_url}"}}'
    samples = sum(m1[samples_key] - m0[samples_key] for m0, m1 in zip(metrics0, metrics1))
    print(f"racks {args.racks} into {args.tsdb}, ingest instances {args.instances}, measured {elapsed:.0f} s after {warmup} s warm-up")
    print(f"  readings decoded   {readings / elapsed:,.0f}/s; samples accepted by {args.tsdb} {samples / elapsed:,.0f}/s")
    print(f"  reading timestamp -> queryable: p50 {percentile(latencies, 50):.2f} s, p99 {percentile(latencies, 99):.2f} s, "
          f"max {max(latencies) if latencies else float('nan'):.2f} s ({len(latencies)} samples of {len(probes)} racks)")
    for name in pids:
        print(f"  {name:15s} CPU {100 * (cpu1[name] - cpu0[name]) / elapsed:5.1f} % of a core, RSS {rss[name] / 1024:7.1f} MiB")
    print(f"  racktel-ingest per rack: {100 * (cpu1['racktel-ingest'] - cpu0['racktel-ingest']) / elapsed / args.racks:.3f} % "
          f"of a core, {anon / args.racks:.0f} KiB anonymous memory")
    for i, m in enumerate(metrics1):
        retried = sum(v for k, v in m.items() if 'result="retried"' in k)
        print(f"  ingest {i}: pending {m['racktel_ingest_batches_pending']:.0f}, duplicates {m['racktel_ingest_duplicates_total']:.0f}, "
              f"decode errors {m['racktel_ingest_decode_errors_total']:.0f}, racks fed {m['racktel_ingest_racks_fed']:.0f}, "
              f"retried {retried:.0f}")
    fleet.wait(timeout=60)
    for i in ingests:
        i.stop()
    prometheus.stop()
    broker.stop()


if __name__ == "__main__":
    main()
