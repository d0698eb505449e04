"""Live reload: SIGHUP and `racktel reload`."""

import signal
import subprocess
import time

from conftest import CLI, SIM_DRIVER, wait_for

A = SIM_DRIVER.format(seed=1).replace('"rack"', '"a"')
B = SIM_DRIVER.format(seed=2).replace('"rack"', '"b"')


def reload_cli(agent):
    return subprocess.run([str(CLI), "reload", "--socket", str(agent.socket)], capture_output=True, text=True, timeout=30)


def test_a_broken_file_changes_nothing(start_agent, collector):
    c = collector()
    agent = start_agent(A)
    c.wait_batches(2)
    good = agent.config.read_text()
    agent.config.write_text(good.replace('name = "a"', 'name = "a"\ncolour = "blue"'))
    agent.signal(signal.SIGHUP)
    wait_for(lambda: agent.status()["reload"]["time_ms"] > 0, what="the reload attempt")
    r = agent.status()["reload"]
    assert r["ok"] is False
    assert any(f'{agent.config}:' in e and 'unknown key "colour"' in e for e in r["errors"])
    text = agent.status(human=True)
    assert "reload     REFUSED" in text and "unknown key" in text
    out = reload_cli(agent)
    assert out.returncode == 1 and "the running one is kept" in out.stderr
    seen = len(c.of("data"))
    c.wait_batches(seen + 2)
    assert len(c.catalogs()) == 1 and agent.process.poll() is None


def test_a_valid_file_reopens_only_what_changed(start_agent, collector):
    c = collector()
    agent = start_agent(A + B)
    c.wait_batches(2)
    changed = agent.config.read_text() + SIM_DRIVER.format(seed=3).replace('"rack"', '"c"')
    changed = changed.replace("seed = 2", "seed = 2\n[[drivers.faults]]\nkind = \"leak\"\ntray = 4")
    changed = changed.replace('keepalive = "2s"', 'keepalive = "3s"')
    agent.config.write_text(changed)
    out = reload_cli(agent)
    assert out.returncode == 0, out.stderr
    assert "reopened b; added c; removed none; unchanged a" in out.stdout
    assert "applied at the next restart: [mqtt]" in out.stdout
    wait_for(lambda: len(c.catalogs()) == 2, what="a new catalog version")
    before = len(c.of("data"))
    c.wait_batches(before + 3)
    new = max(c.catalogs().values(), key=lambda cat: len(cat.sensors))
    assert {s.driver for s in new.sensors} == {"a", "b", "c"}
    batches = c.batches()
    seqs = [b.sequence for b, _ in batches]
    assert seqs == list(range(1, len(seqs) + 1)), "no batch lost or repeated across the reload"
    # "a" kept polling through the reload: a power reading every 100 ms, no tick missing.
    times = sorted({t for _, rs in batches for t, k, s, v in rs if k == "a/chip00.power"})
    assert {y - x for x, y in zip(times, times[1:])} == {100}
    leak = [v for _, rs in batches for t, k, s, v in rs if k == "b/tray04.leak"]
    assert leak[-1] == 1.0, "b runs with its new table"
    drivers = {d["name"]: d for d in agent.status()["drivers"]}
    assert set(drivers) == {"a", "b", "c"} and all(d["state"] == "running" for d in drivers.values())
