"""The hwmon driver end to end: a sysfs-shaped tree, the agent, the broker."""

import os
import shutil

from conftest import wait_for


def make_device(root, directory, name, files, parent=None):
    d = root / directory
    d.mkdir(parents=True)
    (d / "name").write_text(name + "\n")
    for file, value in files.items():
        (d / file).write_text(f"{value}\n")
    if parent:
        os.symlink(f"../../../devices/{parent}", d / "device")
    return d


def psu(root, directory, address, watts):
    return make_device(root, directory, "pmbus", {
        "in1_input": 230000, "in1_label": "vin", "in2_input": 12050, "in2_label": "vout1",
        "curr2_input": 40000, "curr2_label": "iout1", "power1_input": watts * 1_000_000, "power1_label": "pin",
        "temp1_input": 35500, "temp1_max": 70000, "temp1_crit": 85000}, f"i2c-1/{address}")


def test_hwmon_readings_reach_the_broker_in_si_units_and_follow_hot_plug(tmp_path, start_agent, collector):
    root = tmp_path / "sys_class_hwmon"
    make_device(root, "hwmon0", "coretemp", {"temp1_input": 51000, "temp1_label": "Package id 0"})
    psu(root, "hwmon1", "1-0058", 575)
    psu(root, "hwmon2", "1-0059", 560)
    os.symlink("/proc/self/mem", root / "hwmon2" / "temp2_input")  # reads fail with EIO
    c = collector()
    agent = start_agent(f"""
[[drivers]]
name = "board"
type = "hwmon"
interval = "200ms"
root = "{root}"
rescan = "500ms"
[[drivers.locations]]
device = "pmbus_1-0058"
location = "shelf=0,psu=0"
[[drivers.locations]]
device = "pmbus_1-0059"
location = "shelf=0,psu=1"
""")
    batches = c.wait_batches(2)
    catalog = next(iter(c.catalogs().values()))
    ids = {s.id for s in catalog.sensors}
    assert "pmbus_1-0058.power1" in ids and "coretemp.temp1" in ids and len(ids) == 1 + 5 + 6  # coretemp, PSU 0, PSU 1 with its failing temp2
    pin = next(s for s in catalog.sensors if s.id == "pmbus_1-0059.power1")
    assert pin.unit == "W" and pin.name == "pmbus_1-0059 pin"
    assert {(l.key, l.value) for l in pin.location} == {("shelf", "0"), ("psu", "1")}
    last = {k: (s, v) for _, rs in batches for _, k, s, v in rs}
    assert last["board/pmbus_1-0058.power1"] == ("ok", 575.0)
    assert last["board/pmbus_1-0059.in2"][1] == 12.05
    assert last["board/coretemp.temp1"][1] == 51.0
    assert last["board/pmbus_1-0059.temp2"][0] in ("error", "stale")

    # The PSU in slot 1 is pulled: its sensors leave the catalog; it comes back when replugged.
    shutil.move(str(root / "hwmon2"), str(tmp_path / "pulled"))
    wait_for(lambda: len(c.catalogs()) == 2, what="a catalog without the pulled PSU")
    smaller = [cat for cat in c.catalogs().values() if len(cat.sensors) == 1 + 5][0]
    assert not any(s.id.startswith("pmbus_1-0059") for s in smaller.sensors)
    # The PSU left in place keeps its ids, so its location rule still matches and it reads on.
    kept = next(s for s in smaller.sensors if s.id == "pmbus_1-0058.power1")
    assert {(l.key, l.value) for l in kept.location} == {("shelf", "0"), ("psu", "0")}
    wait_for(lambda: any(b.catalog_version == smaller.version for b, _ in c.batches()), what="a batch of the smaller set")
    after = [rs for b, rs in c.batches() if b.catalog_version == smaller.version]
    assert all(s == "ok" for rs in after for _, k, s, _ in rs if k == "board/pmbus_1-0058.power1")
    # Replugged (under another hwmonN): the same sensors, so the very same catalog version as before.
    shutil.move(str(tmp_path / "pulled"), str(root / "hwmon5"))
    wait_for(lambda: agent.status()["catalog"]["version"] == f"{catalog.version:016x}",
             what="the first catalog back, PSU included")
    assert agent.status()["catalog"]["sensors"] == 12
    assert agent.status()["drivers"][0]["state"] == "running"
