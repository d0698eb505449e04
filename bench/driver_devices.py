#!/usr/bin/python3
"""The snmp and modbus drivers polling many devices on loopback: one agent,
one instance of the driver with N devices read each second, against real
servers (net-snmp's snmpd with the APC rPDU2 profile's tables, a 24-outlet
PDU per device; pymodbus with the generic CDU profile; ipmi_sim with 24
sensor records; HTTPS Redfish services with the test service's tray tree). Prints readings/s,
the agent's CPU (% of one core) and resident memory, and the requests each
device needs per read. A benchmark: it asserts nothing.

    bench/driver_devices.py --driver snmp|modbus|ipmi|redfish [--devices 16] [--seconds 30] [--build build/release]
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import tempfile
import time

from bench_env import ROOT, use_build


def cpu_seconds(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def snmp_devices(work, count):
    from snmp_agent import COMMUNITY, SnmpAgent
    from test_snmp import outlet, pdu_values
    values = pdu_values([outlet(n, f"outlet-{n}", 10 + n, 200 + n, 1000 + n) for n in range(1, 25)])
    # One snmpd per four devices: net-snmp's agent answers one request at a time.
    agents = [SnmpAgent(work / f"snmpd{i}", values).start() for i in range((count + 3) // 4)]
    profile = ROOT / "config" / "profiles" / "snmp-apc-rpdu2.toml"
    tables = "".join(f"""
[[drivers.devices]]
name = "pdu{i}"
address = "127.0.0.1:{agents[i // 4].port}"
profile = "{profile}"
version = "2c"
community = "{COMMUNITY}"
""" for i in range(count))
    return agents, f'[[drivers]]\nname = "bench"\ntype = "snmp"\ninterval = "1s"\ntimeout = "500ms"\n{tables}'


def modbus_devices(work, count):
    from test_modbus import free_port
    device_script = ROOT / "tests" / "integration" / "modbus_device.py"
    registers = work / "registers.json"
    registers.write_text(json.dumps({
        "input": {str(a): 100 + a for a in range(0, 300)}, "holding": {str(a): 7 for a in range(0, 300)},
        "discrete": {str(a): 0 for a in range(0, 64)}, "coils": {str(a): 0 for a in range(0, 64)}}))
    servers, tables = [], ""
    profile = ROOT / "config" / "profiles" / "cdu-generic.toml"
    for i in range(count):
        port = free_port()
        servers.append(subprocess.Popen(["/usr/bin/python3", str(device_script), str(port), str(registers),
                                         str(work / f"counts{i}.txt")], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
        tables += f'\n[[drivers.devices]]\nname = "cdu{i}"\naddress = "127.0.0.1:{port}"\nprofile = "{profile}"\n'
        from conftest import wait_accepting
        wait_accepting(port, f"Modbus device {i}")
    return servers, f'[[drivers]]\nname = "bench"\ntype = "modbus"\ninterval = "1s"\ntimeout = "500ms"\n{tables}'


def ipmi_devices(work, count):
    """One ipmi_sim with 24 sensors (16 temperatures, 4 voltages, 4 fans); the N BMCs all point at it."""
    from ipmi_bmc import PASSWORD, USER, IpmiBmc, full_record, sdr_add
    lines = []
    for n in range(1, 25):
        unit, stype, m = (1, 0x01, 1) if n <= 16 else (4, 0x02, 6) if n <= 20 else (18, 0x04, 50)
        lines += [sdr_add(full_record(n, n, f"S{n}", unit, m=m, r_exp=-2 if unit == 4 else 0, sensor_type=stype,
                                      unc=85 if unit == 1 else None)),
                  f"sensor_add 0x20 0 {n} {stype} 0x01", f"sensor_set_value 0x20 0 {n} {40 + n} 0"]
    bmc = IpmiBmc(work / "bmc").start(lines)
    secret = work / "ipmi-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    tables = "".join(f'\n[[drivers.bmcs]]\nname = "bmc{i}"\naddress = "127.0.0.1:{bmc.port}"\n' for i in range(count))
    return [bmc], (f'[[drivers]]\nname = "bench"\ntype = "ipmi"\ninterval = "1s"\ntimeout = "500ms"\n'
                   f'cipher_suite = 3\nworkarounds = ["opensesspriv"]\nusername = "{USER}"\n'
                   f'password_file = "{secret}"\n{tables}')


def redfish_devices(work, count):
    """N HTTPS Redfish services (the test service's tray tree: a Sensors collection with $expand, legacy
    Thermal and Power, the subsystem schemas), each in this process, with a certificate for 127.0.0.1."""
    from redfish_bmc import RedfishBMC
    from pki import issue_certificates
    pki = work / "pki"
    pki.mkdir()
    issue_certificates(pki, {"bmc": "IP:127.0.0.1"}, ca_name="bench CA")
    secret = pki / "password"
    secret.write_text("bmc-secret\n")
    secret.chmod(0o600)
    bmcs = [RedfishBMC(str(pki / "bmc.pem"), str(pki / "bmc.key")) for _ in range(count)]
    tables = "".join(f'\n[[drivers.bmcs]]\nname = "tray{i}"\nurl = "{b.url}"\n' for i, b in enumerate(bmcs))
    return bmcs, (f'[[drivers]]\nname = "bench"\ntype = "redfish"\ninterval = "1s"\nusername = "racktel"\n'
                  f'password_file = "{secret}"\nca_file = "{pki / "ca.pem"}"\n{tables}')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--driver", choices=["snmp", "modbus", "ipmi", "redfish"], required=True)
    parser.add_argument("--devices", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--build", default=str(ROOT / "build" / "release"))
    args = parser.parse_args()
    use_build(args.build)
    from conftest import Agent, Broker, stop_process

    work = pathlib.Path(tempfile.mkdtemp(prefix=f"racktel-{args.driver}-bench-"))
    (work / "broker").mkdir()
    (work / "agent").mkdir()
    broker = Broker(work / "broker")
    broker.start()
    setup = {"snmp": snmp_devices, "modbus": modbus_devices, "ipmi": ipmi_devices, "redfish": redfish_devices}[args.driver]
    servers, drivers = setup(work, args.devices)
    agent = Agent(work / "agent", broker, drivers).start()
    try:
        time.sleep(5)  # the first reads, the catalogs
        status = agent.status()["drivers"][0]
        reads0 = status["groups"][0]["reads"]
        cpu0, t0 = cpu_seconds(agent.process.pid), time.monotonic()
        time.sleep(args.seconds)
        status = agent.status()["drivers"][0]
        reads = status["groups"][0]["reads"] - reads0
        elapsed = time.monotonic() - t0
        cpu = (cpu_seconds(agent.process.pid) - cpu0) / elapsed * 100
        sensors = status["sensors"]
        requests = sorted(set(int(m) for m in re.findall(r"sensors in (\d+) requests per read", agent.log_text())))
        group = status["groups"][0]
        print(f"{args.driver}: {args.devices} devices, {sensors} sensors, read every second for {elapsed:.0f} s")
        print(f"  reads {reads} ({reads / elapsed:.2f}/s), readings/s {sensors * reads / elapsed:,.0f}, "
              f"timeouts {group['timeouts']}, late {group['late_results']}")
        print(f"  agent CPU {cpu:.2f} % of one core, RSS {rss_kib(agent.process.pid) / 1024:.1f} MiB")
        if requests:
            print(f"  requests per device per read: {', '.join(map(str, requests))}")
        elif args.driver == "redfish":
            polls = sum(b.requests for b in servers) / max(1, reads + 5) / len(servers)
            print(f"  requests per BMC per read: {polls:.1f} (server-side count, discovery included)")
        elif args.driver == "ipmi":
            print("  requests per BMC per read: a session (4 exchanges to open, 1 to close) and one per sensor "
                  "record (24)")
        elif args.driver == "modbus":
            lines = (work / "counts0.txt").read_text().splitlines()
            print(f"  requests per device per read: {len(lines) / max(1, reads + 5):.1f} (server-side count)")
    finally:
        agent.stop()
        for s in servers:
            s.stop() if hasattr(s, "stop") else stop_process(s)  # snmpd, ipmi_sim and Redfish services stop themselves
        broker.stop()


if __name__ == "__main__":
    main()
