#!/usr/bin/python3
"""What a sensor costs the agent in memory: RssAnon (the agent's own pages,
without shared libraries) of the release agent with 1 sim rack and with N,
each on a fresh state directory and a real mosquitto, read after the agent
has run a while; the cost of a sensor is the difference over the sensors
added. No [http] (the page's history rings come on top, 728 bytes a sensor).

    python3 bench/memory_per_sensor.py [--racks 8] [--seconds 12] [--runs 2] [--build build/release]
"""

import argparse
import pathlib
import statistics
import tempfile
import time

from bench_env import ROOT, use_build
from page_load import status_kib


def rss_anon_kib(work, broker, racks, seconds):
    from conftest import Agent

    drivers = "".join(f'\n[[drivers]]\nname = "rack{i}"\ntype = "sim"\nseed = {i + 1}\n' for i in range(racks))
    work.mkdir()
    agent = Agent(work, broker, drivers).start(log_level=None)  # as a rack runs, not debug
    try:
        time.sleep(seconds)
        return status_kib(agent.process.pid, "RssAnon"), agent.status()["catalog"]["sensors"]
    finally:
        agent.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--racks", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    args = parser.parse_args()
    use_build(args.build)
    from conftest import Broker

    work = pathlib.Path(tempfile.mkdtemp(prefix="racktel-memory-bench-"))
    (work / "broker").mkdir()
    broker = Broker(work / "broker")
    broker.start()
    try:
        per_sensor = []
        for run in range(args.runs):
            one, one_sensors = rss_anon_kib(work / f"one-{run}", broker, 1, args.seconds)
            many, many_sensors = rss_anon_kib(work / f"many-{run}", broker, args.racks, args.seconds)
            added = many_sensors - one_sensors
            per_sensor.append((many - one) * 1024 / added)
            print(f"run {run + 1}: RssAnon {one:,} KiB with 1 rack ({one_sensors:,} sensors), "
                  f"{many:,} KiB with {args.racks} ({many_sensors:,}): {per_sensor[-1]:.0f} bytes a sensor added")
        print(f"memory per sensor: {statistics.median(per_sensor):.0f} bytes (median of {args.runs} runs, "
              f"RssAnon after {args.seconds} s, release agent, no [http])")
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
