"""The commissioning check: is the rack complete and healthy? (issue 10)"""

import json
import re
import subprocess

import pytest

from conftest import CLI, SOURCE, wait_for

EXPECT = "config/commission-sim.toml"

FAULTS = {
    "clean": "",
    "missing_tray": 'kind = "missing_tray"\ntray = 7',
    "link_down": 'kind = "link_down"\nchip = 41\nlink = 3',
    "hot_chip": 'kind = "hot_chip"\nchip = 12\nextra = 40.0',
    "leak": 'kind = "leak"\ntray = 5',
}

# Exactly what each fault must be found as, and nothing else (the hot die's value moves: a pattern).
FINDINGS = {
    "clean": [],
    "missing_tray": ["16 trays: tray 7 missing", "64 chips: chip 28, 29, 30, 31 missing"],
    "link_down": ["every ICI link up: chip 41 ICI link 3 state: down, expected up",
                  "no active alarm: critical state alarm: rack/chip41.link3 down (state)"],
    "hot_chip": [r"chip dies below 88 °C \(a margin under the 90 °C warning\): chip 12 die temperature: \d+(\.\d)? Cel, expected at most 88 Cel",
                 r"no active alarm: (warning limit alarm: rack/chip12\.die_temp \d+(\.\d)? Cel \(warn_high 90\)|"
                 r"critical limit alarm: rack/chip12\.die_temp \d+(\.\d)? Cel \(crit_high 105\))"],
    "leak": ["no leak: tray 5 leak sensor: detected, expected none",
             "no active alarm: critical state alarm: rack/tray05.leak detected (state)"],
}


def commission(agent, *args):
    return subprocess.run([str(CLI), "commission", "--socket", str(agent.socket), "--expect",
                           str(SOURCE / EXPECT), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_sim_rack_passes_clean_and_each_fault_is_found_exactly(fault, start_agent):
    faults = f"[[drivers.faults]]\n{FAULTS[fault]}\n" if FAULTS[fault] else ""
    agent = start_agent(f'[[drivers]]\nname = "rack"\ntype = "sim"\n{faults}')
    wait_for(lambda: agent.status()["sensors"]["never_read"] == 0, what="a full read")
    if fault == "hot_chip":  # the die heats with a lag: wait until it is past the warning limit
        wait_for(lambda: agent.status()["alarms"]["active"], what="the hot die's alarm")
    out = commission(agent, "--json", "--timeout", "3s", "--no-publish")
    report = json.loads(out.stdout)
    found = [f"{c['name']}: {f}" for c in report["checks"] for f in c["findings"]]
    assert len(found) == len(FINDINGS[fault]), found
    for line, pattern in zip(found, FINDINGS[fault]):
        assert re.fullmatch(pattern if fault == "hot_chip" else re.escape(pattern), line), (line, pattern)
    assert report["passed"] is (fault == "clean")
    assert out.returncode == (0 if fault == "clean" else 1), out.stderr
    assert len(report["checks"]) == 12 and report["published"] is False


def test_the_report_is_published_retained_with_who_and_when(start_agent, collector, broker):
    c = collector()
    agent = start_agent('[[drivers]]\nname = "rack"\ntype = "sim"\n[[drivers.faults]]\nkind = "leak"\ntray = 5\n')
    wait_for(lambda: agent.status()["sensors"]["never_read"] == 0, what="a full read")
    out = commission(agent, "--by", "alice", "--timeout", "1s")
    assert out.returncode == 1
    assert "FAIL  no leak\n        tray 5 leak sensor: detected, expected none" in out.stdout
    assert out.stdout.rstrip().endswith("FAILED; the report is published on the broker")
    wait_for(lambda: c.of("commission"), what="the published report")
    import racktel_stream
    report = racktel_stream.pb.CommissionReport()
    report.ParseFromString(c.of("commission")[-1][2])
    assert (report.passed, report.by) == (False, "alice (root)")
    assert report.expectations.endswith("commission-sim.toml: TPU v7 Ironwood rack, 64 chips (simulated)")
    assert report.boot_id.hex() == agent.status()["boot_id"]
    failed = {check.name: list(check.findings) for check in report.checks if not check.passed}
    assert failed == {"no leak": ["tray 5 leak sensor: detected, expected none"],
                      "no active alarm": ["critical state alarm: rack/tray05.leak detected (state)"]}
    assert "commissioning check by alice (root) against" in agent.log_text()
    # racktel subscribe shows it to whoever watches the rack.
    stream = subprocess.run([str(CLI), "subscribe", "--broker", broker.uri, "--site", "lab", "--rack", "r01",
                             "-n", "1", "--timeout", "20s"], capture_output=True, text=True, timeout=60)
    assert "commission  FAILED  by alice (root)" in stream.stdout
    assert "  no leak: tray 5 leak sensor: detected, expected none" in stream.stdout


def test_a_wrong_expectation_file_is_refused_with_its_position(start_agent, tmp_path):
    agent = start_agent('[[drivers]]\nname = "rack"\ntype = "sim"\n')
    bad = tmp_path / "rack.toml"
    bad.write_text('[[count]]\nname = "16 trays"\nlabel = "tray"\nvalues = "0-15"\ncount = 16\n')
    out = subprocess.run([str(CLI), "commission", "--socket", str(agent.socket), "--expect", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f'{bad}:5:1: unknown key "count" in [[count]]' in out.stderr
