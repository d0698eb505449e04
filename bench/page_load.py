#!/usr/bin/python3
"""The agent's page under load: one agent with N sim racks serving [http],
a real mosquitto, and headless Chromium (Debian's chromium + chromedriver,
through Selenium) with P pages open. Prints the page's weight, the time to
its first complete picture, the agent's CPU and anonymous memory (RssAnon,
without shared libraries) with no page and with P pages open, the history
rings' share, and what /metrics costs. A benchmark: it asserts nothing.

    bench/page_load.py [--instances 1] [--pages 5] [--seconds 30] [--build build/release]
"""

import argparse
import os
import pathlib
import statistics
import tempfile
import time
import urllib.request

from bench_env import ROOT, use_build


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_percent(pid, seconds):
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0) * 100


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    args = parser.parse_args()
    use_build(args.build)
    from browser import Browser
    from conftest import Agent, Broker, free_port

    work = pathlib.Path(tempfile.mkdtemp(prefix="racktel-page-bench-"))
    for d in ("broker", "plain", "agent"):
        (work / d).mkdir()
    broker = Broker(work / "broker")
    broker.start()
    drivers = "".join(f'\n[[drivers]]\nname = "rack{i}"\ntype = "sim"\nseed = {i + 1}\n' for i in range(args.instances))

    # The same rack without [http]: what the page's history rings and server add.
    plain = Agent(work / "plain", broker, drivers).start(log_level=None)  # as a rack runs, not debug
    time.sleep(8)
    plain_anon = status_kib(plain.process.pid, "RssAnon")
    plain.stop()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    agent = Agent(work / "agent", broker, drivers,
                  extra=f'[http]\nlisten = ["127.0.0.1:{port}"]\n').start(log_level=None)
    pid = agent.process.pid
    time.sleep(8)
    sensors = agent.status()["catalog"]["sensors"]
    anon = status_kib(pid, "RssAnon")
    idle = cpu_percent(pid, args.seconds)
    print(f"page bench: {args.instances} sim rack(s), {sensors} sensors, {args.seconds} s windows")
    print(f"  without [http]: RssAnon {plain_anon / 1024:.1f} MiB; with it, no page open: RssAnon {anon / 1024:.1f} MiB "
          f"(+{(anon - plain_anon) / 1024:.1f} MiB; history rings {sensors * 728 / 1048576:.1f} MiB by design), "
          f"CPU {idle:.2f} % of one core")

    weights = {path: len(get(base + path)) for path in ("/", "/page.js", "/page.css")}
    catalog = len(get(base + "/api/catalog"))
    print(f"  page weight: {sum(weights.values()):,} bytes uncompressed "
          f"({', '.join(f'{p} {n:,}' for p, n in weights.items())}); /api/catalog {catalog:,} bytes")

    # /metrics: the agent's CPU per scrape, and the client's view.
    latencies = []
    cpu0 = cpu_seconds(pid)
    for _ in range(20):
        t = time.monotonic()
        size = len(get(base + "/metrics"))
        latencies.append((time.monotonic() - t) * 1000)
    per_scrape = (cpu_seconds(pid) - cpu0) / 20 * 1000
    print(f"  /metrics: {size:,} bytes, {per_scrape:.1f} ms of agent CPU per scrape, "
          f"latency p50 {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms (20 scrapes)")

    browser = Browser(width=1400, height=1000)
    try:
        renders = []
        for n in range(args.pages):
            if n:
                browser.driver.switch_to.new_window("window")
            browser.get(base + "/")
            deadline = time.monotonic() + 30
            mark = []
            while not mark and time.monotonic() < deadline:
                mark = browser.js("return performance.getEntriesByName('racktel-rack-drawn').map(e => e.startTime)")
                time.sleep(0.05)
            renders.append(mark[0] if mark else float("nan"))
        time.sleep(3)
        busy = cpu_percent(pid, args.seconds)
        anon_busy = status_kib(pid, "RssAnon")
        live = len(browser.driver.window_handles)
        print(f"  first complete picture (navigation to every cell drawn): "
              f"{', '.join(f'{r:.0f}' for r in renders)} ms for the {len(renders)} pages")
        print(f"  {live} pages open: agent CPU {busy:.2f} % of one core (+{busy - idle:.2f}), "
              f"RssAnon {anon_busy / 1024:.1f} MiB (+{(anon_busy - anon) / 1024:.1f})")
    finally:
        browser.close()
        agent.stop()
        broker.stop()


if __name__ == "__main__":
    main()
