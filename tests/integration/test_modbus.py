"""The modbus driver against a real Modbus TCP server on loopback (pymodbus):
every type and word order, merged requests (counted by the server), an
exception response, a device that accepts and never answers, a dropped
connection."""

import json
import pathlib
import struct
import subprocess
import sys
import time

import pytest

from conftest import CLI, SOURCE, free_port, stop_process, wait_accepting, wait_for

DEVICE = pathlib.Path(__file__).parent / "modbus_device.py"

pytest.importorskip("pymodbus.server", reason="python3-pymodbus (and python3-serial-asyncio) are not installed")

PROFILE = """
[[registers]]
id = "s16"
function = "input"
address = 0
type = "s16"
scale = 0.1
unit = "Cel"
kind = "temperature"
[[registers]]
id = "u16"
function = "input"
address = 1
type = "u16"
unit = "RPM"
kind = "fan_speed"
[[registers]]
id = "u32_big"
function = "input"
address = 2
type = "u32"
unit = "W"
kind = "power"
[[registers]]
id = "u32_little"
function = "input"
address = 4
type = "u32"
word_order = "little"
unit = "W"
kind = "power"
[[registers]]
id = "s32"
function = "input"
address = 6
type = "s32"
[[registers]]
id = "f32_big"
function = "input"
address = 8
type = "f32"
unit = "L/min"
kind = "flow"
resolution = 0.01
[[registers]]
id = "f32_little"
function = "input"
address = 10
type = "f32"
word_order = "little"
unit = "kPa"
kind = "pressure"
resolution = 0.01
[[registers]]
id = "u64_big"
function = "input"
address = 12
type = "u64"
unit = "J"
kind = "energy"
[[registers]]
id = "u64_little"
function = "input"
address = 16
type = "u64"
word_order = "little"
unit = "J"
kind = "energy"
[[registers]]
id = "pump_fault"
function = "holding"
address = 100
bit = 1
states = "0=ok,1=fault"
[[registers]]
id = "missing"
function = "holding"
address = 200
[[registers]]
id = "leak"
function = "discrete"
address = 0
states = "0=none,1=detected"
"""


def words(fmt, value, little=False):
    """The 16-bit registers of a value, most significant first unless `little`."""
    raw = struct.pack(">" + fmt, value)
    regs = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
    return list(reversed(regs)) if little else regs


def register_file(path):
    inputs = {}
    for address, regs in ((0, words("h", -123)), (1, [1450]), (2, words("I", 100000)),
                          (4, words("I", 70000, little=True)), (6, words("i", -2)), (8, words("f", 21.5)),
                          (10, words("f", 42.25, little=True)), (12, words("Q", 2**32 + 2)),
                          (16, words("Q", 5 * 2**32, little=True))):
        for i, r in enumerate(regs):
            inputs[str(address + i)] = r
    path.write_text(json.dumps({"input": inputs, "holding": {"100": 0b10}, "discrete": {"0": 1}}))


class Device:
    def __init__(self, directory, silent=False):
        self.port = free_port()
        self.registers = directory / "registers.json"
        self.counts = directory / "counts.txt"
        self.silent = silent
        register_file(self.registers)
        self.process = None

    def start(self):
        args = [sys.executable if sys.executable.startswith("/usr/bin") else "/usr/bin/python3", str(DEVICE),
                str(self.port), str(self.registers), str(self.counts)] + (["--silent"] if self.silent else [])
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_accepting(self.port, f"the Modbus device on port {self.port}")
        return self

    def stop(self):
        stop_process(self.process)

    def requests(self):
        return self.counts.read_text().splitlines() if self.counts.exists() else []


def modbus_rack(profile, devices):
    tables = "".join(f"""
[[drivers.devices]]
name = "{name}"
address = "127.0.0.1:{port}"
unit_id = 1
profile = "{profile}"
location = "cdu={i}"
""" for i, (name, port) in enumerate(devices))
    return f"""
[[drivers]]
name = "cooling"
type = "modbus"
interval = "1s"
timeout = "300ms"
{tables}"""


def test_every_type_and_word_order_in_merged_requests(start_agent, tmp_path):
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    device = Device(tmp_path).start()
    try:
        agent = start_agent(modbus_rack(profile, [("cdu0", device.port)]))
        wait_for(lambda: agent.sensors().get("cooling/cdu0.u64_little", {}).get("status") == "ok",
                 what="the first read")
        s = agent.sensors()
        expected = {"s16": -12.3, "u16": 1450, "u32_big": 100000, "u32_little": 70000, "s32": -2, "f32_big": 21.5,
                    "f32_little": 42.25, "u64_big": 2**32 + 2, "u64_little": 5 * 2**32, "pump_fault": 1, "leak": 1}
        for id_, value in expected.items():
            assert s[f"cooling/cdu0.{id_}"]["value"] == pytest.approx(value), id_
            assert s[f"cooling/cdu0.{id_}"]["status"] == "ok", id_
        assert s["cooling/cdu0.pump_fault"]["state"] == "fault"
        assert s["cooling/cdu0.leak"]["state"] == "detected"
        assert s["cooling/cdu0.s16"]["unit"] == "Cel" and s["cooling/cdu0.s16"]["kind"] == "temperature"
        # The register the device does not have: an exception response, an error for it alone.
        assert s["cooling/cdu0.missing"]["status"] == "error"
        # Merged requests: per read, input 0-19 in one request, holding 100 and 200 apart, the discrete input.
        time.sleep(1.2)
        reads = device.requests()
        first = reads[:3]
        assert "input 0 20" in reads
        assert sorted(set(r.split(" ", 1)[0] for r in first)) <= ["discrete", "holding", "input"]
        assert all(r in ("input 0 20", "holding 100 1", "discrete 0 1") for r in reads), reads
        assert "cdu0: the device refused holding 200+1" in agent.log_text()
    finally:
        device.stop()


def test_a_silent_device_and_a_dropped_connection_cost_only_their_own_registers(start_agent, tmp_path):
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    (tmp_path / "good").mkdir()
    (tmp_path / "mute").mkdir()
    good = Device(tmp_path / "good").start()
    mute = Device(tmp_path / "mute", silent=True).start()
    try:
        agent = start_agent(modbus_rack(profile, [("mute", mute.port), ("cdu0", good.port)]))
        wait_for(lambda: agent.sensors().get("cooling/cdu0.u16", {}).get("status") == "ok",
                 what="the answering device read despite the silent one before it")
        wait_for(lambda: agent.sensors()["cooling/mute.u16"]["status"] in ("timeout", "error", "stale"),
                 what="the silent device's registers failing")
        status = agent.status()
        driver = status["drivers"][0]
        assert driver["groups"][0]["timeouts"] == 0 and driver["groups"][0]["late_results"] == 0, \
            "the silent device costs its own timeout, not the read's deadline"

        # The good device goes away and comes back: its registers fail, then read again.
        good.stop()
        wait_for(lambda: agent.sensors()["cooling/cdu0.u16"]["status"] != "ok", what="the dropped device failing")
        assert "cdu0 (127.0.0.1:" in agent.log_text()
        good.start()
        wait_for(lambda: agent.sensors()["cooling/cdu0.u16"]["status"] == "ok", timeout=30,
                 what="the device read again after it came back")
        assert "cdu0 answers again" in agent.log_text()
    finally:
        good.stop()
        mute.stop()


def check_config(tmp_path, profile, name="racktel.toml"):
    """racktel check-config on an agent configuration with one Modbus device using `profile`."""
    config = tmp_path / name
    config.write_text(f"""
[agent]
site = "lab"
rack = "r01"
state_dir = "{tmp_path / 'state'}"
[mqtt]
brokers = ["tcp://127.0.0.1:1"]
{modbus_rack(profile, [("cdu0", 1502)])}
""")
    return subprocess.run([str(CLI), "check-config", str(config)], capture_output=True, text=True)


def test_a_bad_profile_is_refused_at_check_config_with_its_line(tmp_path):
    profile = tmp_path / "bad.toml"
    profile.write_text('[[registers]]\nid = "x"\naddress = 1\ntype = "u128"\n')
    out = check_config(tmp_path, profile)
    assert out.returncode != 0
    assert f"{profile}:4:8: \"type\" must be u16, s16, u32, s32, f32 or u64" in out.stdout + out.stderr


def test_the_shipped_profiles_load_in_the_agent(tmp_path):
    for name in ("cdu-generic.toml", "power-shelf-generic.toml"):
        out = check_config(tmp_path, SOURCE / "config" / "profiles" / name, name + ".racktel.toml")
        assert out.returncode == 0, out.stdout + out.stderr
